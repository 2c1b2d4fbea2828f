-- alignment_multiple_author_domains_strictest.lua - a From with mailboxes in two domains:
-- DMARC is predicted for each author domain and the strictest result decides (the default,
-- alignment.multiple_author_domains = "strictest").  SPF passes for the envelope domain
-- good.example only; both domains publish p=reject; the action is enforce.
local T = dofile(LIB)
local function send(qid, from)
  return T.send{ ip = "10.0.0.5", qid = qid, from = "<bounce@good.example>",
                 headers = {{ "From", from }} }
end
T.case("second_author_domain_failing_refuses", function()
  local c, r = send("MAD1", "a@good.example, b@bad.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
  T.expect(T.log_line("MAD1: action=", "DMARC would fail for bad.example"),
           "the refusal does not name the failing author domain bad.example")
end)
T.case("first_author_domain_failing_refuses", function()
  local c, r = send("MAD2", "b@bad.example, a@good.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
end)
T.case("two_mailboxes_of_one_passing_domain_pass", function()
  local c, r = send("MAD3", "a@good.example, c@good.example")
  T.expect_accept(r, "two good.example authors"); mt.disconnect(c)
  T.expect(T.log_line("MAD3: action=", " dmarc=pass "), "DMARC did not pass for good.example")
end)
