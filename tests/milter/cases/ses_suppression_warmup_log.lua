-- ses_suppression_warmup_log.lua - the suppression list is walked in pages at start
-- (ListSuppressedDestinations, 2 per page: 3 pages for 5 addresses); after the complete walk
-- no recipient costs a GetSuppressedDestination call; action = "log" accepts a suppressed
-- recipient, logs it and records it as "logged"
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
local function stats(api)
  local p = assert(io.popen("curl -s 'http://127.0.0.1:" .. SESPORT .. "/__stats'"))
  local s = p:read("a"); p:close()
  return tonumber(s:match('"' .. api .. '": (%d+)') or "0")
end
local function wait_log(pattern, seconds)
  for _ = 1, seconds * 10 do
    if T.log_count(pattern, true) >= 1 then return true end
    mt.sleep(0.1)
  end
  return false
end

T.case("ses_suppression_warmup_walks_every_page", function()
  T.expect(wait_log("suppression warm-up: 5 addresses from ListSuppressedDestinations (3 page(s))", 10),
           "no complete warm-up of 5 addresses in 3 pages")
  T.expect(stats("ListSuppressedDestinations") == 3, "pages asked: " .. stats("ListSuppressedDestinations"))
end)

T.case("ses_suppression_after_warmup_no_call_per_recipient_and_log_action_accepts", function()
  local c, r = T.send{ ip = "10.0.0.5", from = "<news@example.com>", qid = "WARM1",
                       rcpts = { "<new1@example.org>", "<c2@example.org>", "<new2@example.org>" },
                       headers = {{ "From", "news@example.com" }} }
  T.expect_accept(r, "log action")
  mt.disconnect(c)
  T.expect(stats("GetSuppressedDestination") == 0,
           "GetSuppressedDestination called " .. stats("GetSuppressedDestination") .. " times")
  T.expect(T.log_line("WARM1: suppression list: <c2@example.org> is suppressed (COMPLAINT)",
                      "accepted (ses.suppression.action = log)"), "no log line for c2@")
  T.expect(T.log_line("WARM1: action=", "rcpts=3"), "not every recipient kept")
  local f = assert(io.open(AUDIT, "r")); local all = f:read("a"); f:close()
  T.expect(all:find('"rcpt":"c2@example.org","instance":"ses-us","region":"us-east-1",' ..
                    '"answer":"suppressed","reason":"COMPLAINT","cache":"hit","action":"logged"',
                    1, true), "c2@ not recorded as logged")
  T.expect(all:find('"rcpt":"new1@example.org","instance":"ses-us","region":"us-east-1",' ..
                    '"answer":"clear","reason":null,"cache":"warm","action":"accepted"', 1, true),
           "new1@ not answered from the walk")
end)

T.case("ses_suppression_reload_takes_over_the_table_without_a_walk", function()
  T.signal("HUP")
  for _ = 1, 100 do
    if T.log_count("reloaded (version", true) >= 1 then break end
    mt.sleep(0.05)
  end
  T.expect(wait_log("suppression warm-up: took over the running instance's table", 10),
           "the new instance did not take over the table")
  local c, r = T.send{ ip = "10.0.0.5", from = "<news@example.com>", qid = "WARM2",
                       rcpts = { "<b3@example.org>", "<new3@example.org>" },
                       headers = {{ "From", "news@example.com" }} }
  T.expect_accept(r, "after the reload"); mt.disconnect(c)
  T.expect(T.log_line("WARM2: suppression list: <b3@example.org> is suppressed (BOUNCE)", "accepted"),
           "b3@ not known after the reload")
  T.expect(stats("ListSuppressedDestinations") == 3, "the reload walked the list again: " ..
           stats("ListSuppressedDestinations") .. " pages")
  T.expect(stats("GetSuppressedDestination") == 0, "the reload lost the walk: " ..
           stats("GetSuppressedDestination") .. " calls")
end)

T.case("audit_records_verify_against_the_schema", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1; echo rc=$?",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local out = p:read("a"); p:close()
  T.expect(out:find("rc=0", 1, true), "ses-milter-audit verify --schema: " .. out)
end)
