-- account_sandbox_and_guard.lua - GetAccount through the SES plugin (ABI 1.2 account entry):
-- a sandboxed account refuses unverified recipients at RCPT, PROBATION defers bulk mail
-- only, SHUTDOWN refuses everything, SendingEnabled=false defers everything; each change
-- of state is logged once and each reply names the region
local T = dofile(LIB)
local function account(v)
  local before = T.log_count("SES account in us-east-1 ", true)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?account=" .. v .. "'")
  for _ = 1, 150 do
    if T.log_count("SES account in us-east-1 ", true) > before then return end
    mt.sleep(0.1)
  end
  local p = io.popen("curl -s http://127.0.0.1:" .. SESPORT .. "/__stats"); local st = p:read("a"); p:close()
  T.fail("no log line for the account change to " .. v .. " " .. st:sub(1, 300))
end
local function msg(from, rcpts, qid)
  return T.send{ ip = "10.0.0.5", from = "<" .. from .. ">", qid = qid, rcpts = rcpts,
                 headers = {{ "From", from }, { "Message-ID", "<" .. qid .. "@example.com>" }} }
end
-- one transaction's RCPT replies, then the message
local function rcpts(list, qid)
  local c = T.connect{ ip = "10.0.0.5" }
  mt.macro(c, SMFIC_MAIL, "i", qid)
  T.expect(mt.mailfrom(c, "<a@example.com>") == nil, "mailfrom failed")
  T.expect(mt.getreply(c) == SMFIR_CONTINUE, "MAIL FROM not continued")
  local got = {}
  for i, r in ipairs(list) do
    T.expect(mt.rcptto(c, r) == nil, "rcptto failed")
    got[i] = mt.getreply(c)
  end
  return c, got
end

for _ = 1, 100 do if T.log_count("in the SES sandbox", true) > 0 then break end mt.sleep(0.1) end
T.expect(T.log_count("SES account in us-east-1 in the SES sandbox", true) == 1,
         "the sandbox is logged once at start")

T.case("account_sandbox_refuses_unverified_recipients_at_rcpt_naming_region", function()
  local c, got = rcpts({ "<friend@example.org>", "<stranger@example.org>", "<pending@example.org>" }, "SBX1")
  T.expect(got[1] == SMFIR_CONTINUE, "verified recipient: " .. T.name(got[1]))
  T.expect(got[2] == SMFIR_REPLYCODE, "unverified recipient: " .. T.name(got[2]))
  T.expect(got[3] == SMFIR_REPLYCODE, "not-verified recipient: " .. T.name(got[3]))
  T.expect(T.log_has("SBX1: account: refused <stranger@example.org> by source ses-us (region us-east-1)", true),
           "no refusal line for stranger")
  mt.disconnect(c)
  -- the reply: 550 5.7.1 saying the account is in the SES sandbox (the summary line has it)
  c, r = msg("a@example.com", { "<stranger@example.org>" }, "SBX2")
  T.expect(r == SMFIR_REPLYCODE, "RCPT not refused: " .. T.name(r))
  mt.disconnect(c)
  c, r = msg("a@example.com", { "<friend@example.org>" }, "SBX3")
  T.expect_accept(r, "verified recipient"); mt.disconnect(c)
  T.expect(T.log_line("SBX3: action=", "account=accept"), "SBX3: audit-style account decision missing")
end)

T.case("account_sandbox_rcpt_reply_is_550_5_7_1_saying_sandbox", function()
  local c, got = rcpts({ "<stranger@example.org>" }, "SBX4")
  T.expect(got[1] == SMFIR_REPLYCODE, "not refused")
  T.expect(T.log_has('SBX4: account: refused <stranger@example.org> by source ses-us (region us-east-1): '
                     .. 'not a verified identity (sandbox); reply="550 5.7.1 Recipient <stranger@example.org> '
                     .. 'is not a verified identity: the sending account in region us-east-1 is in the SES '
                     .. 'sandbox and may send only to verified identities"', true), "refusal reply")
  mt.disconnect(c)
end)

T.case("account_sandbox_recipient_lookup_failing_is_451_not_550", function()
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=500'")
  local c, got = rcpts({ "<unknown-now@example.org>" }, "SBX5")
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=ok'")
  T.expect(got[1] == SMFIR_REPLYCODE, "not answered with a reply code")
  T.expect(T.log_has('SBX5: account: tempfailed <unknown-now@example.org> by source ses-us (region us-east-1)', true)
           and T.log_has('reply="451 4.4.3 Cannot check recipient <unknown-now@example.org>', true), "no 451")
  mt.disconnect(c)
end)

T.case("account_production_access_lifts_the_recipient_check", function()
  account("healthy")
  local c, r = msg("a@example.com", { "<stranger@example.org>" }, "PROD1")
  T.expect_accept(r, "production account, unverified recipient"); mt.disconnect(c)
end)

T.case("account_probation_defers_bulk_while_transactional_flows", function()
  account("probation")
  local c, r = msg("a@news.example.com", { "<x@example.org>" }, "PROB1")
  T.expect_reply(c, r, "451", "4.7.1")
  T.expect(T.log_line("PROB1: action=", "region us-east-1 is under SES PROBATION: bulk mail deferred"),
           "PROB1: reply text")
  mt.disconnect(c)
  c, r = msg("a@example.com", { "<x@example.org>" }, "PROB2")
  T.expect_accept(r, "transactional mail on probation"); mt.disconnect(c)
end)

T.case("account_shutdown_refuses_everything", function()
  account("shutdown")
  local c, r = msg("a@example.com", { "<x@example.org>" }, "SHUT1")
  T.expect_reply(c, r, "550", "5.7.1")
  T.expect(T.log_line("SHUT1: action=", "region us-east-1 is SHUT DOWN by SES"), "SHUT1: reply text")
  mt.disconnect(c)
  c, r = msg("a@news.example.com", { "<x@example.org>" }, "SHUT2")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)

T.case("account_sending_disabled_defers_everything", function()
  account("disabled")
  local c, r = msg("a@example.com", { "<x@example.org>" }, "DIS1")
  T.expect_reply(c, r, "451", "4.7.1")
  T.expect(T.log_line("DIS1: action=", "region us-east-1 is disabled for sending in SES"), "DIS1: reply text")
  mt.disconnect(c)
  account("healthy")
  c, r = msg("a@example.com", { "<x@example.org>" }, "DIS2")
  T.expect_accept(r, "sending enabled again"); mt.disconnect(c)
end)
