-- alignment_provider_verdicts.lua - the prediction names each mailbox provider whose sender
-- rules the message would fail, with the rule, in the summary line, the result header, the
-- audit record and an advice line (alignment.providers: all by default).  Direct relay from
-- 192.0.2.1, a downstream signer d=good.example whose key is published:
--   good.example  SPF passes, DMARC p=none, DKIM aligned           -> every provider passes,
--                 but bulk mail (Precedence: bulk) without one-click fails Gmail and Yahoo
--   news.good.example  an unsubscribe rule adds one-click headers  -> bulk mail that passes
--   nodmarc.example    no DMARC record                             -> dmarc-record fails
--   soft.example  SPF softfail, DKIM d=good.example unaligned      -> spf-pass and aligned fail
local T = dofile(LIB)
local HDR = "X-SES-Milter-Alignment"
local AUDIT = WORK .. "/audit/audit.jsonl"
local function send(qid, from, env, extra)
  local h = {{ "From", from }, { "Subject", "news" }}
  for _, e in ipairs(extra or {}) do h[#h + 1] = e end
  return T.send{ ip = "10.0.0.5", qid = qid, from = env, headers = h }
end
local function record(qid)
  for _ = 1, 40 do
    local f = io.open(AUDIT, "r")
    if f then
      for line in f:lines() do
        if line:find('"qid":"' .. qid .. '"', 1, true) then f:close(); return line end
      end
      f:close()
    end
    mt.sleep(0.05)
  end
  return ""
end
local function verdicts(qid, from, env, extra, want, audit)
  local c, r = send(qid, from, env, extra)
  T.expect_accept(r, qid .. " (monitor)")
  local v = mt.getheader(c, HDR, 0) or ""
  T.expect(v:find("providers=" .. want, 1, true), qid .. ": result header " .. v)
  mt.disconnect(c)
  T.expect(T.log_line(qid .. ": action=", " providers=" .. want .. " "),
           qid .. ": the summary line does not carry providers=" .. want)
  local rec = record(qid)
  T.expect(rec:find('"providers":' .. audit .. ',"suppression":', 1, true),
           qid .. ": audit record providers: " .. rec)
end

T.case("authenticated_aligned_mail_passes_every_provider", function()
  verdicts("PV1", "a@good.example", "<bounce@good.example>", nil,
           "gmail:pass,yahoo:pass,outlook:pass",
           '[{"name":"gmail","result":"pass","failed":[]},{"name":"yahoo","result":"pass",' ..
           '"failed":[]},{"name":"outlook","result":"pass","failed":[]}]')
end)

T.case("bulk_mail_without_one_click_fails_gmail_and_yahoo", function()
  verdicts("PV2", "a@good.example", "<bounce@good.example>", {{ "Precedence", "bulk" }},
           "gmail:fail(one-click),yahoo:fail(one-click),outlook:pass",
           '[{"name":"gmail","result":"fail","failed":["one-click"]},{"name":"yahoo",' ..
           '"result":"fail","failed":["one-click"]},{"name":"outlook","result":"pass","failed":[]}]')
  T.expect(T.log_line("PV2: providers: ", "Gmail (sender rules since February 2024) would junk " ..
                      "or refuse the message: bulk mail from good.example lacks one-click"),
           "no advice line naming Gmail's one-click rule")
end)

T.case("one_click_headers_added_by_an_unsubscribe_rule_count", function()
  verdicts("PV3", "a@news.good.example", "<bounce@good.example>", nil,
           "gmail:pass,yahoo:pass,outlook:pass",
           '[{"name":"gmail","result":"pass","failed":[]},{"name":"yahoo","result":"pass",' ..
           '"failed":[]},{"name":"outlook","result":"pass","failed":[]}]')
end)

T.case("no_dmarc_record_fails_every_provider", function()
  verdicts("PV4", "a@nodmarc.example", "<bounce@nodmarc.example>", nil,
           "gmail:fail(dmarc-record),yahoo:fail(dmarc-record),outlook:fail(dmarc-record)",
           '[{"name":"gmail","result":"fail","failed":["dmarc-record"]},{"name":"yahoo",' ..
           '"result":"fail","failed":["dmarc-record"]},{"name":"outlook","result":"fail",' ..
           '"failed":["dmarc-record"]}]')
  T.expect(T.log_line("PV4: providers: ", "Outlook.com (sender rules since May 2025) would " ..
                      "refuse the message (550 5.7.515): nodmarc.example publishes no DMARC record"),
           "no advice line naming Outlook.com's 550 5.7.515")
end)

T.case("spf_softfail_unaligned_fails_spf_pass_and_aligned", function()
  verdicts("PV5", "a@soft.example", "<bounce@soft.example>", nil,
           "gmail:fail(spf-pass+aligned),yahoo:fail(spf-pass+aligned),outlook:fail(spf-pass+aligned)",
           '[{"name":"gmail","result":"fail","failed":["spf-pass","aligned"]},{"name":"yahoo",' ..
           '"result":"fail","failed":["spf-pass","aligned"]},{"name":"outlook","result":"fail",' ..
           '"failed":["spf-pass","aligned"]}]')
end)

T.case("audit_records_with_provider_verdicts_meet_the_schema", function()
  local cmd = string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1",
                            os.getenv("SM_BUILDDIR"), AUDIT)
  local p = assert(io.popen(cmd)); local out = p:read("a"); local ok = p:close()
  T.expect(ok, "ses-milter-audit verify --schema: " .. out)
end)

T.case("probe_prints_the_provider_verdicts_and_their_advice", function()
  local p = T.probe("a@nodmarc.example")
  T.expect(p.providers == "gmail:fail(dmarc-record),yahoo:fail(dmarc-record),outlook:fail(dmarc-record)",
           "ses-milter -t providers: " .. tostring(p.providers) .. "\n" .. p.out)
  T.expect(p.out:find("advice:    Outlook.com (sender rules since May 2025) would refuse the " ..
                      "message (550 5.7.515)", 1, true), "no provider advice in:\n" .. p.out)
end)
