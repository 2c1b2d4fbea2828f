-- ses_source_failures.lua - a hanging SES endpoint never turns a verified sender into a
-- permanent refusal, and one message's lookups share one deadline (lookup_timeout_ms 2000)
local T = dofile(LIB)
local function now_ms()
  local p = assert(io.popen("date +%s%3N")); local v = tonumber(p:read("l")); p:close(); return v
end
local function ses_mode(m)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=" .. m .. "'")
end
local function wait_log(pattern, n, seconds)
  for _ = 1, seconds * 10 do
    if T.log_count(pattern, true) >= n then return true end
    mt.sleep(0.1)
  end
  return false
end
local function send(from, qid)
  return T.send{ ip = "10.0.0.5", from = "<x@example.net>", qid = qid, headers = {{ "From", from }} }
end

T.expect(wait_log("warm-up: ", 1, 10), "the warm-up did not list the identities")

T.case("ses_warmup_refresh_keeps_dkim_details_so_a_hanging_ses_is_not_asked", function()
  local c, r = send("bob@dkim.example", "DETAILS1"); T.expect_accept(r, "SES answering"); mt.disconnect(c)
  T.expect(T.log_line("DETAILS1: action=", "action=accept"), "DETAILS1 not accepted")
  -- two more warm-up rounds push dkim.example again, without DKIM details
  local rounds = T.log_count("warm-up: ", true)
  T.expect(wait_log("warm-up: ", rounds + 2, 10), "no further warm-up round")
  ses_mode("silent")
  c, r = send("bob@dkim.example", "DETAILS2"); T.expect_accept(r, "SES hanging, details cached")
  mt.disconnect(c)
  ses_mode("ok")
end)

T.case("ses_failing_details_lookup_is_a_temperror_not_a_refusal", function()
  -- the gate's answer comes from the warm cache; GetEmailIdentity for the DKIM details fails
  ses_mode("500")
  local c, r = send("carol@dkim2.example", "FAIL500")
  T.expect(r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL, "expected a temporary failure, got " .. T.name(r))
  T.expect(T.log_line("FAIL500: action=", 'reply="451 '), "FAIL500: not a 451")
  T.expect(T.log_line("FAIL500: action=", "dmarc=temperror"), "FAIL500: DMARC not a temperror")
  mt.disconnect(c)
  ses_mode("ok")
end)

T.case("ses_hanging_details_lookup_is_a_temperror_within_the_message_deadline", function()
  ses_mode("silent")
  local t0 = now_ms()
  local c, r = send("carol@dkim2.example", "HANG1")
  local took = now_ms() - t0
  mt.echo("HANG1 answered after " .. took .. " ms (lookup_timeout_ms 2000)")
  T.expect(r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL, "expected a temporary failure, got " .. T.name(r))
  T.expect(T.log_line("HANG1: action=", 'reply="451 '), "HANG1: not a 451")
  T.expect(not T.log_line("HANG1: action=", 'reply="550 '), "HANG1: a permanent refusal")
  T.expect(took <= 2000 + 700, "HANG1 took " .. took .. " ms, more than the deadline + 700 ms")
  mt.disconnect(c)
  ses_mode("ok")
end)
