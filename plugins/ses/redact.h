/*
 * redact.h - credentials out of text that is about to be logged
 *
 * AWS error answers can echo what was signed: SignatureDoesNotMatch
 * carries the canonical request (the X-Amz-Security-Token header's value
 * among the signed headers) and the string to sign; credential services
 * answer with keys and tokens.  redact_text() returns a copy of such text
 * with the secrets replaced by "[redacted]":
 *   - the value after any key whose name ends in token, secret,
 *     secretaccesskey, secret_access_key, signature or password
 *     ("x-amz-security-token:V", "X-Amz-Security-Token: V", "Signature=V",
 *     "\"SessionToken\": \"V\"", "<SessionToken>V");
 *   - the access key id after "Credential=" or an "AccessKeyId" key, and
 *     any bare AKIA.../ASIA... key id, beyond their first 4 characters;
 *   - every run of 40 or more hex digits (signatures, the canonical
 *     request's hash in the string to sign).
 * A key counts only when a ':', '=' or '>' follows it on the same line,
 * so "The security token included in the request is invalid." stays.
 */
#ifndef SES_REDACT_H
#define SES_REDACT_H

/* redact_text - a redacted copy of s (allocated, never NULL; s NULL gives "") */
char *redact_text(const char *s);

#endif
