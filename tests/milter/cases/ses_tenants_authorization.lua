-- ses_tenants_authorization.lua - tenants: the From identity must be one of the rule's
-- tenant's resources (ListTenantResources), else 550 5.7.1 naming identity, tenant and region;
-- sending authorization: a rule's identity_source is the only source asked (the owning
-- account's instance, in the ARN's region), and the ARN headers are added; a refusal names
-- the region that refused, in the reply and the audit record
local T = dofile(LIB)
local AUDIT = WORK .. "/audit/audit.jsonl"
local function stats(api)
  local p = assert(io.popen("curl -s 'http://127.0.0.1:" .. SESPORT .. "/__stats'"))
  local s = p:read("a"); p:close()
  return tonumber(s:match('"' .. api:gsub("%-", "%%-") .. '": (%d+)') or "0")
end
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
local function send(qid, from)
  return T.send{ ip = "10.0.0.5", from = "<" .. from .. ">", qid = qid, headers = {{ "From", from }} }
end

T.case("ses_tenant_identity_of_the_tenant_is_accepted_with_its_header", function()
  local c, r = send("TEN1", "news@example.com")
  T.expect_accept(r, "tenant-news owns example.com")
  T.expect(ins(c, "X-SES-TENANT", "tenant-news"), "no X-SES-TENANT")
  mt.disconnect(c)
  T.expect(stats("ListTenantResources") == 1, "ListTenantResources: " .. stats("ListTenantResources"))
  T.expect(audit_line("TEN1"):find('"tenant":{"tenant":"tenant-news","identity":"example.com",' ..
           '"instance":"ses-us","region":"us-east-1","answer":"associated"}', 1, true),
           "tenant check not recorded")
  -- the tenant's list is kept: a second message asks nothing
  c, r = send("TEN1B", "news@example.com")
  T.expect_accept(r); mt.disconnect(c)
  T.expect(stats("ListTenantResources") == 1, "tenant list asked again")
end)

T.case("ses_tenant_identity_not_of_the_tenant_is_refused_naming_tenant_and_region", function()
  local c, r = send("TEN2", "alerts@example.com")
  T.expect_reply(c, r, "550", "5.7.1", "Sender identity <example.com> is not associated with " ..
                 "SES tenant tenant-other in region us-east-1: SES would refuse the message")
  mt.disconnect(c)
  local rec = audit_line("TEN2")
  T.expect(rec:find('"answer":"not_associated"', 1, true) and
           rec:find('"refused_region":"us-east-1"', 1, true), "refusal not recorded: " .. rec)
end)

T.case("ses_authorization_identity_resolved_in_the_owning_account_and_region", function()
  local main0 = stats("GetEmailIdentity:123456789012:us-east-1")
  local c, r = send("AUTH1", "alice@partner.example")
  T.expect_accept(r, "partner.example verified in 111122223333/us-west-2")
  local arn = "arn:aws:ses:us-west-2:111122223333:identity/partner.example"
  T.expect(ins(c, "X-SES-SOURCE-ARN", arn), "no X-SES-SOURCE-ARN")
  T.expect(ins(c, "X-SES-FROM-ARN", arn), "no X-SES-FROM-ARN")
  T.expect(ins(c, "X-SES-RETURN-PATH-ARN", arn), "no X-SES-RETURN-PATH-ARN")
  mt.disconnect(c)
  T.expect(stats("GetEmailIdentity:123456789012:us-east-1") == main0,
           "the main account was asked about a partner sender")
  T.expect(stats("GetEmailIdentity:111122223333:us-west-2") >= 1, "the partner account was not asked")
  T.expect(audit_line("AUTH1"):find('"instance":"ses-partner","answer":"verified"', 1, true),
           "lookup not by ses-partner")
end)

T.case("ses_authorization_only_the_named_source_counts_and_the_reply_names_its_region", function()
  -- shared.example is verified in the main account, but the rule sends it through the partner's
  local c, r = send("AUTH2", "bob@shared.example")
  T.expect_reply(c, r, "550", "5.7.1",
                 "Sender identity <bob@shared.example> is not verified for sending in SES region us-west-2")
  mt.disconnect(c)
  T.expect(audit_line("AUTH2"):find('"refused_region":"us-west-2"', 1, true), "region not recorded")
end)

T.case("audit_records_verify_against_the_schema", function()
  local p = assert(io.popen(string.format("'%s/ses-milter-audit' verify --schema '%s' 2>&1; echo rc=$?",
                                          os.getenv("SM_BUILDDIR"), AUDIT)))
  local out = p:read("a"); p:close()
  T.expect(out:find("rc=0", 1, true), "ses-milter-audit verify --schema: " .. out)
end)
