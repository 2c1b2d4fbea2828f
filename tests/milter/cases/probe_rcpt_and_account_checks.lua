-- probe_rcpt_and_account_checks.lua - "ses-milter -t ADDRESS -r RCPT ..." runs the RCPT-time
-- checks (SES suppression list, sandbox recipients) and the account's guard and send quota,
-- so the dry run says what a real message gets: for every row its recipient lines, reply,
-- account line and exit status, and the milter gives the same RCPT and end-of-message
-- answers to that message; the dry run charges no quota
local T = dofile(LIB)
-- the account variant of the endpoint (ses_endpoint.py); "fixture": the sandbox, a quota
-- far away (the milter's own sends of each row must not come near it)
local current = "fixture"
local function account(v)
  if v == current then return end
  current = v
  local before = T.log_count("SES account in us-east-1 ", true)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?account=" .. v .. "'")
  for _ = 1, 150 do
    if T.log_count("SES account in us-east-1 ", true) > before then return end
    mt.sleep(0.1)
  end
  T.fail("the milter did not see the account change to " .. v)
end
local function probe(args)
  local p = assert(io.popen(string.format("'%s/ses-milter' -c '%s' %s 2>&1", os.getenv("SM_BUILDDIR"),
                                          CONF, args)))
  local out = p:read("a")
  local _, _, status = p:close()
  local res = { status = status, out = out, rcpt = {} }
  for k, v in out:gmatch("\n  (%a+): +([^\n]*)") do
    if k == "rcpt" then res.rcpt[#res.rcpt + 1] = v elseif res[k] == nil then res[k] = v end
  end
  return res
end
local function has_prefix(s, p) return s ~= nil and s:sub(1, #p) == p end
for _ = 1, 100 do if T.log_count("in the SES sandbox", true) > 0 then break end mt.sleep(0.1) end

local SANDBOX = "550 5.7.1 Recipient <stranger@example.org> is not a verified identity: the " ..
                "sending account in region us-east-1 is in the SES sandbox and may send only to " ..
                "verified identities"
local SUPPRESSED = "550 5.1.1 <bounced@example.org> is on the SES account suppression list " ..
                   "(BOUNCE) in region us-east-1: SES would not deliver to it"
-- name | account variant | recipients | exit | each recipient's line (after the address) |
-- reply (prefix) | account line (prefix)
local rows = {
  { "sandbox_verified_recipient_accepted", "fixture", { "friend@example.org" }, 0,
    { "250 (accepted)" }, "250 ", "accept" },
  { "sandbox_unverified_recipient_refused_550_5_7_1", "fixture",
    { "friend@example.org", "stranger@example.org" }, 1, { "250 (accepted)", SANDBOX }, "250 ",
    "rcpt-reject by ses-us (region us-east-1, in the SES sandbox)" },
  { "suppressed_recipient_refused_550_5_1_1", "healthy", { "friend@example.org", "bounced@example.org" },
    1, { "250 (accepted)", SUPPRESSED }, "250 ", "accept" },
  { "shutdown_account_refuses_the_message", "shutdown", { "friend@example.org" }, 1,
    { "250 (accepted)" }, "550 5.7.1 The sending account in region us-east-1 is SHUT DOWN by " ..
    "SES, disabled for sending in SES: transactional mail refused", "reject by ses-us (region us-east-1, SHUT DOWN by SES" },
  { "shutdown_without_recipients_still_refused", "shutdown", {}, 1, {},
    "550 5.7.1 The sending account in region us-east-1 is SHUT DOWN", "reject by ses-us" },
  { "daily_quota_used_up_is_451_4_7_1", "quota:100,14,100", { "friend@example.org" }, 2,
    { "250 (accepted)" }, "451 4.7.1 ", "quota-24h by ses-us (region us-east-1" },
}
for _, row in ipairs(rows) do
  local name, variant, rcpts, status, lines, reply, acct = table.unpack(row)
  T.case("probe_" .. name, function()
    account(variant)
    local args = "-t a@example.com"
    for _, r in ipairs(rcpts) do args = args .. " -r " .. r end
    local p = probe(args)
    T.expect(p.status == status, name .. ": exit " .. tostring(p.status) .. ", want " .. status .. "\n" .. p.out)
    T.expect(#p.rcpt == #lines, name .. ": " .. #p.rcpt .. " rcpt lines\n" .. p.out)
    for i, l in ipairs(lines) do
      T.expect(p.rcpt[i] == "<" .. rcpts[i] .. "> " .. l, name .. ": rcpt " .. i .. ": " .. tostring(p.rcpt[i]))
    end
    T.expect(has_prefix(p.reply, reply), name .. ": reply: " .. tostring(p.reply))
    T.expect(has_prefix(p.account, acct), name .. ": account: " .. tostring(p.account))
    if #rcpts == 0 then return end
    -- the milter, for the same message: each RCPT answered alike, then the same reply
    local c = T.connect{ ip = "10.0.0.5" }
    T.seq = T.seq + 1
    T.last_qid = "PRB" .. T.seq
    mt.macro(c, SMFIC_MAIL, "i", T.last_qid)
    T.expect(mt.mailfrom(c, "<a@example.com>") == nil, "mailfrom failed")
    T.expect(mt.getreply(c) == SMFIR_CONTINUE, "MAIL FROM not continued")
    for i, r in ipairs(rcpts) do
      T.expect(mt.rcptto(c, "<" .. r .. ">") == nil, "rcptto failed")
      local got = mt.getreply(c)
      local want = lines[i]:sub(1, 3) == "250" and SMFIR_CONTINUE or SMFIR_REPLYCODE
      T.expect(got == want, name .. ": the milter's RCPT " .. r .. ": " .. T.name(got))
    end
    T.expect(mt.header(c, "From", "a@example.com") == nil, "header failed")
    T.expect(mt.eoh(c) == nil, "eoh failed")
    T.expect(mt.bodystring(c, "Hello.\r\n") == nil, "body failed")
    T.expect(mt.eom(c) == nil, "eom failed")
    T.expect_probe_matches(c, mt.getreply(c), p, name)
    mt.disconnect(c)
  end)
end

T.case("probe_asks_the_quota_without_charging_it", function()
  -- one send left of the 24-hour quota: two messages of one recipient in one dry run both fit
  -- (charged, the second would get 451 4.7.1)
  -- (the dry run reads the account at its own start: the milter need not see the change)
  os.execute("curl -s -o /dev/null -X POST 'http://127.0.0.1:" .. SESPORT .. "/__mode?account=quota:100,14,99'")
  local p = probe("-t a@example.com -t b@example.com -r friend@example.org")
  T.expect(p.status == 0, "two dry runs with one send left: exit " .. tostring(p.status) .. "\n" .. p.out)
  T.expect(not p.out:find("451", 1, true), "a dry run was charged:\n" .. p.out)
end)
