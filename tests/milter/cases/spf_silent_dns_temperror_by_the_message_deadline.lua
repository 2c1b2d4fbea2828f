-- spf_silent_dns_temperror_by_the_message_deadline.lua - the DNS server never answers and
-- resolv.conf would wait 10 s per query: SPF's queries (libspf2 over lib/dns.c) are bounded by
-- the message deadline (identity.lookup_timeout_ms 2000), not by resolv.conf or
-- alignment.dns.timeout_ms (10000).  SPF is temperror, DMARC cannot be known (temperror),
-- and the message goes on (alignment.action tag) within about the deadline.
local T = dofile(LIB)
T.case("spf_against_a_silent_server_is_temperror_within_the_deadline", function()
  local t0 = os.time()
  local c, r = T.send{ ip = "10.0.0.5", qid = "SIL1", from = "<bounce@macro.example>",
                       headers = {{ "From", "bob@macro.example" }} }
  local took = os.time() - t0
  T.expect_accept(r, "macro.example (tagged)"); mt.disconnect(c)
  -- 2 s deadline; the resolver's per-try timeout counts in whole seconds, os.time too
  T.expect(took <= 4, "the message took " .. took .. " s: SPF waited past the 2 s deadline")
  T.expect(T.log_line("SIL1: action=", " dmarc=temperror "), "DMARC was not temperror")
  local f = io.open(WORK .. "/audit/audit.jsonl", "r")
  local all = f and f:read("a") or ""
  if f then f:close() end
  T.expect(all:find('"spf":{"domain":"macro.example","ips":["192.0.2.1"],"result":"temperror"}', 1, true),
           "the audit record does not show SPF temperror: " .. all:sub(1, 600))
end)
