-- a reload that changes the audit settings of the same file: the new snapshot's
-- records use the new settings, and the hash chain runs on unbroken
local T = dofile(LIB)
local function audit_text()
  local f = assert(io.open(WORK .. "/audit/audit.jsonl", "r")); local s = f:read("a"); f:close(); return s
end
T.case("reload_applies_new_audit_settings_on_the_same_chain", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "A1", from = "<a@example.com>", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r); mt.disconnect(c)
  T.expect(T.log_has("A1: action=", true), "no summary for A1")
  T.expect(not audit_text():find("rcpt@example.org", 1, true), "recipients must be hashed first")
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  T.write(CONF, (text:gsub('recipients = "hashed";', 'recipients = "plain";')))
  T.signal("HUP")
  T.expect(T.log_has("reloaded (version", true), "reload not logged")
  c, r = T.send{ ip = "10.0.0.5", qid = "A2", from = "<a@example.com>", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r); mt.disconnect(c)
  T.expect(T.log_has("A2: action=", true), "no summary for A2")
  local a = audit_text()
  local line = a:match('[^\n]*"A2"[^\n]*')
  T.expect(line and line:find("rcpt@example.org", 1, true), "A2's record does not use the new recipients setting")
  T.expect(os.execute(WORK .. "/verify-audit " .. WORK .. "/audit/audit.jsonl") == true,
           "the audit chain broke across the reload")
end)
