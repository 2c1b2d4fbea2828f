-- records_name_the_refused_identity.lua - the summary line and the audit report name the
-- identity behind the verdict (an unverified envelope sender, not the verified From), and
-- accepted mail logs at info and above its summary and only the advice that must be seen (the
-- SPF that does not align, the providers whose rules it fails); the other details go to debug
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
-- lines about qid at a level other than debug
local function loud_lines(qid)
  local n, f = 0, assert(io.open(LOG, "r"))
  for line in f:lines() do
    if line:find(" " .. qid .. ": ", 1, true) and not line:find("[debug]", 1, true) then n = n + 1 end
  end
  f:close()
  return n
end
T.case("accepted_mail_logs_the_summary_and_only_the_advice_that_must_be_seen", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "ACC1", from = "<bob@example.com>",
                       headers = {{ "From", "bob@example.com" }, { "Subject", "hello" }} }
  T.expect_accept(r, "verified, DMARC would fail (tagged)"); mt.disconnect(c)
  T.expect(T.log_line("ACC1: action=", "action=tag"), "no summary line for ACC1")
  T.expect(T.log_has("ACC1: alignment: ", true), "the alignment details are not logged at debug")
  T.expect(T.log_line("[info]: ACC1: alignment: ", "SPF is evaluated for amazonses.com"),
           "ACC1: the unaligned SPF is not advised at info")
  T.expect(T.log_line("[notice]: ACC1: providers: ", "Outlook.com"),
           "ACC1: no line naming the providers whose rules the message fails")
  local n = loud_lines("ACC1")
  T.expect(n == 3, "ACC1: " .. n .. " lines at info or above, want 3 (summary, SPF, providers)")
end)
T.case("summary_line_names_the_refused_envelope_sender", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "ENV1", from = "<bounce@unverified.example>",
                       headers = {{ "From", "bob@example.com" }} }
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <bounce@unverified.example> is not verified for sending")
  mt.disconnect(c)
  T.expect(T.log_line("ENV1: action=", " identity=bounce@unverified.example:not_verified "),
           "the summary line does not name the refused identity")
end)
T.case("report_counts_the_refusal_under_the_refused_identity", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' report --format csv '%s' 2>&1",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local csv = p:read("a"); p:close()
  for _, want in ipairs({ "\nidentity,bounce@unverified.example,refused,1\n",
                          "\ndomain,unverified.example,refused,1\n",
                          "\ndomain,example.com,refused,0\n", "\nidentity,example.com,refused,0\n" }) do
    T.expect(csv:find(want, 1, true), "report: want " .. want:gsub("\n", "") .. " in:\n" .. csv)
  end
end)
