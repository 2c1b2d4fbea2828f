-- ses_tenant_from_the_message.lua - an X-SES-TENANT the message brings itself (no rule adds
-- it): the From identity must be one of that tenant's resources (ListTenantResources, as for
-- a rule's tenant), else 550 5.7.1 saying the tenant is the message's own; a tenant SES
-- cannot be asked about now is a 451; a name SES would not take is refused; a rule that
-- replaces the tenant has only its own checked
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
local function stats(api)
  local p = assert(io.popen("curl -s 'http://127.0.0.1:" .. SESPORT .. "/__stats'"))
  local s = p:read("a"); p:close()
  return tonumber(s:match('"' .. api .. '": (%d+)') or "0")
end
local function ses_mode(m)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?ses=" .. m .. "'")
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
  return ""
end
local NOT_ASSOC = "Sender identity <example.com> is not associated with SES tenant %s " ..
                  "(the message's X-SES-TENANT header) in region us-east-1: SES would refuse the message"
-- name | From | the message's X-SES-TENANT (nil: none) | SES mode | code | xcode | text (nil: accepted)
-- | audit "answer" (nil: no tenant checked)
local rows = {
  { "message_tenant_associated_is_accepted", "a@example.com", "tenant-news", "ok", nil, nil, nil,
    "associated" },
  { "message_tenant_not_associated_is_refused", "a@example.com", "tenant-other", "ok",
    "550", "5.7.1", NOT_ASSOC:format("tenant-other"), "not_associated" },
  { "message_tenant_unknown_to_ses_is_refused", "a@example.com", "tenant-nobody", "ok",
    "550", "5.7.1", NOT_ASSOC:format("tenant-nobody"), "not_associated" },
  { "message_tenant_checked_under_a_rule_without_tenant", "news@example.com", "tenant-other", "ok",
    "550", "5.7.1", NOT_ASSOC:format("tenant-other"), "not_associated" },
  { "message_tenant_unanswerable_is_tempfailed", "a@example.com", "tenant-third", "500",
    "451", "4.7.1", "The SES tenant tenant-third (the message's X-SES-TENANT header) of sender " ..
    "identity <example.com> could not be checked now; try again later", "tempfail" },
  { "message_tenant_name_ses_would_not_take_is_refused", "a@example.com", "tenant/x", "ok",
    "550", "5.7.1", "The message's X-SES-TENANT header 'tenant/x' is not an SES tenant name " ..
    "(character '/' not allowed (only A-Z a-z 0-9 _ -)): SES would refuse the message", nil },
  { "rule_replacing_the_tenant_checks_only_its_own", "alerts@example.com", "tenant-other", "ok",
    nil, nil, nil, "associated" },
  { "message_without_tenant_asks_nothing", "a@example.com", nil, "ok", nil, nil, nil, nil },
}
for i, row in ipairs(rows) do
  local name, from, tenant, mode, code, xcode, text, answer = table.unpack(row)
  T.case(name, function()
    local qid = "MTEN" .. i
    local calls = stats("ListTenantResources")
    local hdrs = {{ "From", from }}
    if tenant then hdrs[2] = { "X-SES-TENANT", tenant } end
    ses_mode(mode)
    local c, r = T.send{ ip = "10.0.0.5", from = "<" .. from .. ">", qid = qid, headers = hdrs }
    ses_mode("ok")
    if code then
      T.expect_reply(c, r, code, xcode, text)
    else
      T.expect_accept(r, name)
    end
    mt.disconnect(c)
    local rec = audit_line(qid)
    if answer then
      T.expect(rec:find('"answer":"' .. answer .. '"}', 1, true), name .. ": tenant check not " ..
               "recorded as " .. answer .. ": " .. rec)
    else
      T.expect(not rec:find('"tenant":{', 1, true), name .. ": a tenant check recorded: " .. rec)
    end
    if not tenant then
      T.expect(stats("ListTenantResources") == calls, name .. ": ListTenantResources asked")
    end
  end)
end
T.case("audit_records_verify_against_the_schema", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1; echo rc=$?",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local out = p:read("a"); p:close()
  T.expect(out:find("rc=0", 1, true), "ses-milter-audit verify --schema: " .. out)
end)
