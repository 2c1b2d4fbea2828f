local T = dofile(LIB)
T.case("scope_authenticated_is_outgoing", function()
  local c, r = T.send{ ip = "203.0.113.9", auth = "alice", qid = "AUTHQ1",
                       headers = {{ "From", "Alice <alice@example.com>" }, { "Subject", "hi" }} }
  T.expect_accept(r)
  T.expect(T.log_has("AUTHQ1: action=accept outcome=completed scope=authenticated", true), "summary line missing")
  mt.disconnect(c)
end)
