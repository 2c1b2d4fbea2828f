-- dmarc_methods_rfc9989_decides.lua - the message of dmarc_methods_rfc7489_decides with
-- alignment.dmarc.deciding = "rfc9989": the RFC 9989 verdict (fail, p=reject from the public
-- suffix domain registry.example) refuses it under enforce, and the reply's reason and the
-- log say that RFC 7489 receivers would let it pass.
local T = dofile(LIB)
T.case("rfc9989_verdict_refuses_and_names_the_rfc7489_verdict", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "DM2", from = "<bounce@other.registry.example>",
                       headers = {{ "From", "a@shop.registry.example" }} }
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
  T.expect(T.log_line("DM2: action=", " dmarc=fail dmarc_other=rfc7489:pass "),
           "the summary line does not carry the RFC 7489 verdict")
  T.expect(T.log_line("DM2: alignment:", "RFC 7489 and RFC 9989 receivers disagree"),
           "the disagreement is not in the log")
  T.expect(T.log_line("DM2: alignment:", "follows rfc9989"), "the advice does not say which decided")
end)
