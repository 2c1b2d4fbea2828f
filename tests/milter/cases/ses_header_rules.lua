-- ses_header_rules.lua - the "ses.rules" add X-SES-CONFIGURATION-SET, X-SES-MESSAGE-TAGS,
-- X-SES-TENANT and the sending-authorization ARNs by sender or trigger header; an existing
-- header is kept or replaced as the rule says; the audit record names the rule and each header
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
-- with SMFIP_HDR_LEADSPC the value carries its leading space
local function ins(c, n, v)
  return mt.eom_check(c, MT_HDRINSERT, n, v) or mt.eom_check(c, MT_HDRINSERT, n, " " .. v)
end
local function audit_line(qid)
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
  return nil
end
local function send(qid, from, headers)
  local h = {{ "From", from }}
  for _, x in ipairs(headers or {}) do h[#h + 1] = x end
  return T.send{ ip = "10.0.0.5", from = "<" .. from .. ">", qid = qid, headers = h }
end

T.case("ses_rules_sender_address_adds_configuration_set_tags_and_tenant", function()
  local c, r = send("HDR1", "news@example.com")
  T.expect_accept(r)
  T.expect(ins(c, "X-SES-CONFIGURATION-SET", "bulk-news"), "no configuration set")
  T.expect(ins(c, "X-SES-MESSAGE-TAGS", "stream=newsletter, domain=example-com"), "no tags")
  T.expect(ins(c, "X-SES-TENANT", "tenant-news"), "no tenant")
  mt.disconnect(c)
  local rec = audit_line("HDR1")
  T.expect(rec and rec:find('"ses_headers":{"rule":"newsletter","headers":[{"name":' ..
           '"X-SES-CONFIGURATION-SET","value":"bulk-news","act":"added"}', 1, true),
           "rule not recorded: " .. tostring(rec))
end)

T.case("ses_rules_replace_removes_the_message_own_header", function()
  local c, r = send("HDR2", "news@example.com", {{ "X-SES-CONFIGURATION-SET", "mine" }})
  T.expect_accept(r)
  T.expect(mt.eom_check(c, MT_HDRCHANGE, "X-SES-CONFIGURATION-SET") or
           mt.eom_check(c, MT_HDRDELETE, "X-SES-CONFIGURATION-SET"), "own header not removed")
  T.expect(ins(c, "X-SES-CONFIGURATION-SET", "bulk-news"), "rule's value not added")
  mt.disconnect(c)
  T.expect(audit_line("HDR2"):find('"value":"bulk-news","act":"replaced"', 1, true), "not replaced")
end)

T.case("ses_rules_keep_leaves_the_message_own_header", function()
  local c, r = send("HDR3", "bob@example.com", {{ "X-SES-CONFIGURATION-SET", "mine" }})
  T.expect_accept(r)
  T.expect(not mt.eom_check(c, MT_HDRINSERT, "X-SES-CONFIGURATION-SET"), "a second one added")
  T.expect(not mt.eom_check(c, MT_HDRCHANGE, "X-SES-CONFIGURATION-SET"), "own header changed")
  mt.disconnect(c)
  T.expect(audit_line("HDR3"):find('"rule":"transactional","headers":[{"name":' ..
           '"X-SES-CONFIGURATION-SET","value":"mine","act":"kept"}]', 1, true), "kept not recorded")
end)

T.case("ses_rules_trigger_header_value_selects_the_rule", function()
  local c, r = send("HDR4", "bob@example.com", {{ "X-Campaign", "spring" }})
  T.expect_accept(r)
  T.expect(ins(c, "X-SES-CONFIGURATION-SET", "campaign"), "campaign rule not applied")
  T.expect(ins(c, "X-SES-MESSAGE-TAGS", "campaign=spring"), "campaign tags missing")
  mt.disconnect(c)
  c, r = send("HDR5", "bob@example.com", {{ "X-Campaign", "autumn" }})
  T.expect(ins(c, "X-SES-CONFIGURATION-SET", "transactional"), "other value: next rule")
  mt.disconnect(c)
end)

T.case("ses_rules_sending_authorization_arns_added", function()
  local c, r = send("HDR6", "alice@other.example")
  T.expect_accept(r)
  local arn = "arn:aws:ses:us-west-2:111122223333:identity/other.example"
  T.expect(ins(c, "X-SES-SOURCE-ARN", arn), "no source ARN")
  T.expect(ins(c, "X-SES-FROM-ARN", arn), "no from ARN")
  T.expect(ins(c, "X-SES-RETURN-PATH-ARN", arn), "no return-path ARN")
  mt.disconnect(c)
end)

T.case("ses_rules_no_matching_rule_adds_nothing", function()
  local c, r = send("HDR7", "x@bücher.example")
  T.expect_accept(r)
  T.expect(not mt.eom_check(c, MT_HDRINSERT), "headers added without a rule")
  mt.disconnect(c)
  T.expect(audit_line("HDR7"):find('"ses_headers":null', 1, true), "ses_headers not null")
end)

T.case("audit_records_verify_against_the_schema", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1; echo rc=$?",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local out = p:read("a"); p:close()
  T.expect(out:find("rc=0", 1, true), "ses-milter-audit verify --schema: " .. out)
end)
