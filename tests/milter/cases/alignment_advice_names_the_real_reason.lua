-- alignment_advice_names_the_real_reason.lua - the advice says why a message will not arrive:
-- an identity whose custom MAIL FROM domain has status FAILED with BehaviorOnMxFailure =
-- REJECT_MESSAGE (Easy DKIM SUCCESS, so DMARC itself would pass) is refused by SES; under
-- alignment.action = "enforce" the reply names that refusal (not "DMARC would pass"), under
-- "monitor" the refusal is an advice line in the log (not only in the audit record), and an
-- unaligned SPF (SES's own amazonses.com MAIL FROM) gets an advice line too.
local T = dofile(LIB)
local function send(qid, from)
  return T.send{ ip = "10.0.0.5", qid = qid, from = "<x@example.net>", headers = {{ "From", from }} }
end
-- an advice line of the message above debug level (logged by a default configuration)
local function advice(qid, needle)
  for _, level in ipairs({ "[info]", "[notice]", "[warning]" }) do
    if T.log_line(level .. ": " .. qid .. ": alignment: ", needle) then return true end
  end
  return false
end

T.case("enforce_reply_names_the_ses_refusal_not_the_dmarc_pass", function()
  local c, r = send("MFENF", "alice@mfail.example")
  T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
  T.expect(T.log_line("MFENF: action=", "SES would refuse the message"),
           "the reply does not name SES's refusal")
  T.expect(T.log_line("MFENF: action=", "MAIL FROM domain bounce.mfail.example is not verified"),
           "the reply does not say the MAIL FROM domain is not verified")
  T.expect(not T.log_line("MFENF: action=", "DMARC would pass"),
           "the reply still reads \"DMARC would pass\"")
end)

T.case("monitor_logs_the_ses_refusal_as_advice", function()
  local c, r = send("MFMON", "bob@mfailmon.example")
  T.expect_accept(r, "monitor"); mt.disconnect(c)
  T.expect(advice("MFMON", "SES would refuse the message"),
           "under monitor the SES refusal is not in the log")
end)

T.case("unaligned_amazonses_spf_gets_an_advice_line", function()
  local c, r = send("SPFADV", "carol@dkimonly.example")
  T.expect_accept(r, "DMARC passes via DKIM"); mt.disconnect(c)
  T.expect(T.log_line("SPFADV: action=", " dmarc=pass "), "DMARC did not pass via Easy DKIM")
  T.expect(advice("SPFADV", "SPF is evaluated for amazonses.com, which does not align"),
           "no advice line for the unaligned amazonses.com SPF")
end)
