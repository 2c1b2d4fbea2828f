-- alignment_multiple_author_domains_reject.lua - alignment.multiple_author_domains = "reject":
-- a From with mailboxes in two domains is refused, even when DMARC would pass for each;
-- mailboxes of one domain are evaluated as usual
local T = dofile(LIB)
local function send(qid, from, env)
  return T.send{ ip = "10.0.0.5", qid = qid, from = env or "<bounce@good.example>",
                 headers = {{ "From", from }} }
end
T.case("two_author_domains_are_refused", function()
  local c, r = send("MAR1", "a@good.example, b@bad.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
  T.expect(T.log_line("MAR1: action=", "several domains"),
           "the refusal does not say the From has several domains")
end)
T.case("one_author_domain_passes", function()
  local c, r = send("MAR2", "a@good.example, c@good.example")
  T.expect_accept(r, "two good.example authors"); mt.disconnect(c)
end)
