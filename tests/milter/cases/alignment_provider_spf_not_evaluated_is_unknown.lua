-- alignment_provider_spf_not_evaluated_is_unknown.lua - direct delivery without
-- alignment.egress_ips evaluates no SPF: the providers' spf-pass rule is unknown, not failed
-- (DKIM d=good.example aligns, DMARC p=none is published); alignment.providers = outlook and
-- gmail checks only those two, in the providers' order
local T = dofile(LIB)
T.case("spf_not_evaluated_is_unknown_for_the_configured_providers", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "NOEGR", from = "<bounce@good.example>",
                       headers = {{ "From", "a@good.example" }} }
  T.expect_accept(r, "monitor")
  local v = mt.getheader(c, "X-SES-Milter-Alignment", 0) or ""
  mt.disconnect(c)
  T.expect(v:find("providers=gmail:unknown(spf-pass),outlook:unknown(spf-pass)", 1, true),
           "result header: " .. v)
  T.expect(T.log_line("NOEGR: action=", " providers=gmail:unknown(spf-pass),outlook:unknown(spf-pass) "),
           "the summary line does not say unknown(spf-pass)")
  T.expect(T.log_line("[info]: NOEGR: providers: ", "Outlook.com (sender rules since May 2025): " ..
                      "whether the message meets spf-pass cannot be predicted"),
           "no info line saying the SPF rule cannot be predicted")
end)
