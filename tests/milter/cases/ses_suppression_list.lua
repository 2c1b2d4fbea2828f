-- ses_suppression_list.lua - recipients on the SES account suppression list are refused at
-- RCPT with 550 5.1.1 naming the reason and the region, others pass; answers are cached
-- (one GetSuppressedDestination per address), a failing list is a 451 for that recipient,
-- and every check is in the audit record
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
local function stats(api)
  local p = assert(io.popen("curl -s 'http://127.0.0.1:" .. SESPORT .. "/__stats'"))
  local s = p:read("a"); p:close()
  return tonumber(s:match('"' .. api .. '": (%d+)') or "0")
end
local function ses_mode(m)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=" .. m .. "'")
end
local function audit_line(qid)
  for _ = 1, 40 do
    local f = io.open(AUDIT, "r")
    if f then
      for line in f:lines() do
        if line:find('"qid":"' .. qid .. '"', 1, true) then f:close(); return line end
      end
      f:close()
    end
    mt.sleep(0.05)
  end
  return nil
end
-- one transaction with several recipients; returns conn and the reply of each RCPT
local function rcpts(qid, list)
  local c = T.connect{ ip = "10.0.0.5" }
  mt.macro(c, SMFIC_MAIL, "i", qid)
  T.expect(mt.mailfrom(c, "<news@example.com>") == nil, "mailfrom failed")
  T.expect(mt.getreply(c) == SMFIR_CONTINUE, "MAIL FROM not continued")
  local got = {}
  for i, r in ipairs(list) do
    T.expect(mt.rcptto(c, r) == nil, "rcptto failed")
    got[i] = mt.getreply(c)
  end
  return c, got
end
local function finish(c)
  T.expect(mt.data(c) == nil, "data failed"); mt.getreply(c)
  T.expect(mt.header(c, "From", "news@example.com") == nil, "header failed"); mt.getreply(c)
  T.expect(mt.eoh(c) == nil, "eoh failed"); mt.getreply(c)
  T.expect(mt.bodystring(c, "Hello.\r\n") == nil, "body failed"); mt.getreply(c)
  T.expect(mt.eom(c) == nil, "eom failed")
  return mt.getreply(c)
end

T.case("ses_suppression_refuses_bounce_and_complaint_recipients_at_rcpt", function()
  local c, got = rcpts("SUPP1", { "<ok@example.org>", "<bounced@example.org>",
                                  "<complained@example.org>" })
  T.expect(got[1] == SMFIR_CONTINUE, "ok@ not accepted: " .. T.name(got[1]))
  T.expect(got[2] == SMFIR_REPLYCODE, "bounced@ not refused: " .. T.name(got[2]))
  T.expect(got[3] == SMFIR_REPLYCODE, "complained@ not refused: " .. T.name(got[3]))
  T.expect_accept(finish(c), "the message to ok@")
  mt.disconnect(c)
  T.expect(T.log_line("<bounced@example.org> is suppressed (BOUNCE) in ses-us region us-east-1",
                      "recipient refused"), "no log line for bounced@")
  T.expect(T.log_line("<complained@example.org> is suppressed (COMPLAINT)", "recipient refused"),
           "no log line for complained@")
  local rec = audit_line("SUPP1")
  T.expect(rec ~= nil, "no audit record for SUPP1")
  T.expect(rec:find('"rcpts":["ok@example.org"]', 1, true), "refused recipients counted: " .. rec)
  T.expect(rec:find('{"rcpt":"bounced@example.org","instance":"ses-us","region":"us-east-1",' ..
                    '"answer":"suppressed","reason":"BOUNCE","cache":"miss","action":"refused"}',
                    1, true), "bounced@ check not recorded: " .. rec)
  T.expect(rec:find('"rcpt":"ok@example.org","instance":"ses-us","region":"us-east-1",' ..
                    '"answer":"clear","reason":null', 1, true), "ok@ check not recorded: " .. rec)
  T.expect(rec:find('"refused_region":"us-east-1"', 1, true), "refused_region missing: " .. rec)
end)

T.case("ses_suppression_answers_are_cached_per_exact_address", function()
  local before = stats("GetSuppressedDestination")
  local c, got = rcpts("SUPP2", { "<ok@example.org>", "<bounced@example.org>",
                                  "<Bounced@example.org>", "<bounced@EXAMPLE.org>" })
  T.expect(got[1] == SMFIR_CONTINUE and got[2] == SMFIR_REPLYCODE, "cached answers differ")
  -- SES matches the exact address: another local part's case is another address; the domain
  -- is lower-cased (it is case-insensitive), so bounced@EXAMPLE.org is the cached bounced@
  T.expect(got[3] == SMFIR_CONTINUE, "Bounced@ (another address) refused")
  T.expect(got[4] == SMFIR_REPLYCODE, "bounced@EXAMPLE.org not refused")
  mt.disconnect(c)
  local calls = stats("GetSuppressedDestination") - before
  T.expect(calls == 1, "expected 1 call (Bounced@ only), got " .. calls)
  local rec = audit_line("SUPP2")
  T.expect(rec ~= nil and rec:find('"cache":"hit","action":"refused"', 1, true),
           "cache hit not recorded: " .. tostring(rec))
end)

T.case("ses_suppression_unavailable_list_tempfails_that_recipient", function()
  ses_mode("500")
  local c, got = rcpts("SUPP3", { "<new@example.org>", "<ok@example.org>" })
  ses_mode("ok")
  T.expect(got[1] == SMFIR_REPLYCODE, "new@ not tempfailed: " .. T.name(got[1]))
  T.expect(got[2] == SMFIR_CONTINUE, "ok@ (cached clear) not accepted: " .. T.name(got[2]))
  T.expect_accept(finish(c), "the message to ok@")
  mt.disconnect(c)
  T.expect(T.log_line("<new@example.org> could not be checked in ses-us region us-east-1",
                      "recipient tempfailed"), "no tempfail line")
  local rec = audit_line("SUPP3")
  T.expect(rec ~= nil and rec:find('"answer":"tempfail","reason":null,"cache":"miss",' ..
                                    '"action":"tempfail"', 1, true),
           "tempfail not recorded: " .. tostring(rec))
end)

T.case("ses_suppression_every_recipient_refused_records_an_aborted_transaction", function()
  local c, got = rcpts("SUPP4", { "<bounced@example.org>" })
  T.expect(got[1] == SMFIR_REPLYCODE, "bounced@ not refused")
  T.expect(mt.abort(c) == nil, "abort failed")
  mt.disconnect(c)
  local rec = audit_line("SUPP4")
  T.expect(rec ~= nil and rec:find('"action":"refused"', 1, true) and
           rec:find('"outcome":"aborted"', 1, true), "aborted record: " .. tostring(rec))
end)

T.case("audit_records_verify_against_the_schema", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1; echo rc=$?",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local out = p:read("a"); p:close()
  T.expect(out:find("rc=0", 1, true), "ses-milter-audit verify --schema: " .. out)
end)
