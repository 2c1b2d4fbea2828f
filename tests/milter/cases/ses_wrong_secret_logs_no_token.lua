-- ses_wrong_secret_logs_no_token.lua - with a wrong secret and a session token, SES's
-- SignatureDoesNotMatch echoes the canonical request (token included): the daemon's log
-- names the failure and carries neither the token nor a secret nor the whole key id
local T = dofile(LIB)
T.case("ses_signature_mismatch_is_logged_without_credentials", function()
  local c, r = T.send{ ip = "10.0.0.5", from = "<x@example.net>", qid = "BADSIG1",
                       headers = {{ "From", "a@example.com" }} }
  T.expect_reply(c, r, "451", "4.7.1")
  mt.disconnect(c)
  T.expect(T.log_has("SignatureDoesNotMatch", true), "the failure is not logged")
  local f = assert(io.open(LOG)); local log = f:read("a"); f:close()
  for _, secret in ipairs({ "milterSessionTokenDoNotLog", "SecretDoNotLog", "ASIAMILTERTOKENTEST" }) do
    T.expect(not log:find(secret, 1, true), "the log contains " .. secret)
  end
  T.expect(T.log_has("x-amz-security-token:[redacted]", true), "the echoed canonical request is not there, redacted")
end)
