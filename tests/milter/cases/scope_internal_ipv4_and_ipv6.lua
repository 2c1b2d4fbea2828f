local T = dofile(LIB)
T.case("scope_internal_ipv4_and_ipv6", function()
  local c, r = T.send{ ip = "10.20.30.40", qid = "V4Q1", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r)
  T.expect(T.log_has("V4Q1: action=accept outcome=completed scope=internal-network", true), "IPv4 internal not outgoing")
  mt.disconnect(c)
  c, r = T.send{ ip = "2001:db8::25", qid = "V6Q1", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r)
  T.expect(T.log_has("V6Q1: action=accept outcome=completed scope=internal-network", true), "IPv6 internal not outgoing")
  mt.disconnect(c)
end)
