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
T.case("np_applies_to_non_existent_author_domains", function()
  for qid, dom in pairs({ DM3 = "gone.registry.example", DM4 = "notes.registry.example" }) do
    local c, r = T.send{ ip = "10.0.0.5", qid = qid, from = "<bounce@other.registry.example>",
                         headers = {{ "From", "a@" .. dom }} }
    T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
    T.expect(T.log_line(qid .. ": alignment:", "the receiver would apply np=quarantine"),
             dom .. ": np= does not apply to a domain without A, AAAA and MX records")
  end
  T.expect(T.log_line("DM2: alignment:", "the receiver would apply p=reject"),
           "shop.registry.example has an A record: p= applies")
end)
