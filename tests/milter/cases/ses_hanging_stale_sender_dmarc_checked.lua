-- ses_hanging_stale_sender_dmarc_checked.lua - while SES hangs, a sender it verified before is
-- served its stale answer AND its DMARC record is still looked up: the identity lookups stop
-- early enough in the message deadline (lookup_timeout_ms 1500) for the alignment DNS queries,
-- so an expired DMARC record in the DNS cache is asked again instead of becoming a temperror
-- (451).  Identity TTL 1 s, DNS cache TTL 1 s at most; SES timeout_ms 10000 > the deadline.
local T = dofile(LIB)
local function ses_mode(m)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=" .. m .. "'")
end
local function send(from, qid)
  return T.send{ ip = "10.0.0.5", from = "<x@example.net>", qid = qid, headers = {{ "From", from }} }
end

T.case("ses_hanging_stale_sender_still_gets_its_dmarc_lookup", function()
  local c, r = send("bob@stale.example", "WARM1"); T.expect_accept(r, "SES answering"); mt.disconnect(c)
  T.expect(T.log_line("WARM1: action=", "dmarc=pass"), "WARM1: DMARC did not pass")
  ses_mode("silent")
  mt.sleep(1.5) -- the identity answers (1 s) and the cached DMARC record (1 s) have expired
  c, r = send("bob@stale.example", "STALE1")
  T.expect_accept(r, "SES hanging: stale identity, DMARC asked again")
  mt.disconnect(c)
  T.expect(T.log_line("STALE1: identity gate: stale answer served", "stale.example"),
           "STALE1: no stale-answer line")
  T.expect(T.log_line("STALE1: action=", "dmarc=pass"), "STALE1: DMARC not evaluated (temperror?)")
  ses_mode("ok")
end)
