-- dmarc_methods_rfc7489_decides.lua - RFC 7489 and RFC 9989 receivers disagree, and the
-- advice says so.  From shop.registry.example, envelope sender other.registry.example whose
-- SPF passes; registry.example publishes "p=reject; psd=y".  The PSL makes registry.example
-- the Organizational Domain of both (SPF aligns: pass), the RFC 9989 tree walk stops at its
-- psd=y and makes each name its own (SPF does not align: fail, p=reject).  With
-- alignment.dmarc.deciding = "rfc7489" the message passes under enforce; the disagreement
-- is logged at notice, in the summary line (dmarc_other=) and in the result header.
local T = dofile(LIB)
T.case("rfc7489_verdict_decides_and_the_disagreement_is_logged", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "DM1", from = "<bounce@other.registry.example>",
                       headers = {{ "From", "a@shop.registry.example" }} }
  T.expect_accept(r, "RFC 7489 predicts pass"); mt.disconnect(c)
  T.expect(T.log_line("DM1: action=", " dmarc=pass dmarc_other=rfc9989:fail "),
           "the summary line does not carry the RFC 9989 verdict")
  T.expect(T.log_line("DM1: alignment:", "RFC 7489 and RFC 9989 receivers disagree"),
           "the disagreement is not in the log")
  T.expect(T.log_line("DM1: alignment:", "_dmarc.registry.example"),
           "the advice does not name the record")
  T.expect(T.log_line("DM1: alignment:", "follows rfc7489"), "the advice does not say which decided")
end)
