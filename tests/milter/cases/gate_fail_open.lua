local T = dofile(LIB)
T.case("gate_fail_open_accepts_when_the_source_cannot_answer", function()
  local c, r = T.send{ ip = "10.0.0.5", from = "<a@example.com>", qid = "OPEN1",
                       headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r, "fail-open")
  T.expect(T.log_has("OPEN1: action=accept", true), "summary line missing")
  mt.disconnect(c)
end)
