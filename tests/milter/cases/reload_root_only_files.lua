-- a reload behaves like a start: files only root may read (0600 root) are read again
-- through the privileged helper: the unsubscribe key, the identity list, the audit key
local T = dofile(LIB)
local function token(c)
  local v = mt.getheader(c, "List-Unsubscribe", 0)
  return v and v:match("<https://example%.com/u/([%w%-_%.]+)>")
end
local function verifies(key, tok)
  return os.execute(WORK .. "/verify-token " .. key .. " " .. tok) == true
end
local function news(qid)
  return T.send{ ip = "10.0.0.5", qid = qid, from = "<a@news.example.com>",
                 headers = {{ "From", "a@news.example.com" }, { "Message-ID", "<m@news.example.com>" }} }
end
local function other(qid)
  return T.send{ ip = "10.0.0.5", qid = qid, from = "<b@other.example>", headers = {{ "From", "b@other.example" }} }
end
local function audit_text()
  local f = assert(io.open(WORK .. "/audit/audit.jsonl", "r")); local s = f:read("a"); f:close(); return s
end

T.case("reload_rereads_root_only_key_identity_and_audit_files", function()
  local c, r = news("KEY1")
  T.expect_accept(r); local t1 = token(c); mt.disconnect(c)
  T.expect(t1 and verifies(WORK .. "/unsub.key", t1), "no token under the first key: " .. tostring(t1))
  c, r = other("LIST1"); T.expect_reply(c, r, "550", "5.7.1"); mt.disconnect(c)
  T.expect(not audit_text():find("rcpt@example.org", 1, true), "recipients must be hashed before the reload")
  -- new key, new list, new audit settings; the files stay root-only (0600 root)
  os.execute("cp -p " .. WORK .. "/unsub.key " .. WORK .. "/unsub.key.old")
  T.write(WORK .. "/unsub.key", "0123456789abcdef0123456789abcdef-second-key")
  T.write(WORK .. "/ids.txt", "news.example.com\nother.example\n")
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  T.write(CONF, (text:gsub('recipients = "hashed";', 'recipients = "plain";')))
  T.signal("HUP")
  T.expect(T.log_has("configuration [^\n]* reloaded %(version"), "SIGHUP must reload with unsubscribe on")
  T.expect(T.log_count("reload refused", true) == 0, "reload refused")
  c, r = other("LIST2"); T.expect_accept(r, "b@other.example after the new list"); mt.disconnect(c)
  c, r = news("KEY2")
  T.expect_accept(r); local t2 = token(c); mt.disconnect(c)
  T.expect(t2 and verifies(WORK .. "/unsub.key", t2), "token not under the new key: " .. tostring(t2))
  T.expect(not verifies(WORK .. "/unsub.key.old", t2), "token still under the old key")
  -- the new snapshot's records use its settings; the chain runs on across the reload
  T.expect(T.log_has("KEY2: action=", true), "no summary for KEY2")
  local a = audit_text()
  T.expect(a:find('"KEY2"', 1, true) and a:find("rcpt@example.org", 1, true),
           "recipients not plain after the reload")
  T.expect(os.execute(WORK .. "/verify-audit " .. WORK .. "/audit/audit.jsonl") == true,
           "the audit chain broke across the reload")
end)
