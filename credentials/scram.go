package credentials

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// PgBouncerUserlist is one line of PgBouncer's auth_file: the user and the password, each in
// double quotes, a double quote inside doubled ("" ); nothing else is special. (Go's %q is not
// that format: it escapes with backslashes, which PgBouncer keeps as part of the password.)
// A plain-text password lets the pooler answer SCRAM itself and log in to PostgreSQL with it.
func PgBouncerUserlist(user, password string) string {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	return quote(user) + " " + quote(password) + "\n"
}

// PostgresSCRAMVerifier is what PostgreSQL stores for a password under
// password_encryption = scram-sha-256 (RFC 5802, RFC 7677):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. Given to ALTER ROLE ... PASSWORD,
// it is stored as it is, so the setup job sets the password without the password ever reaching
// the server (or its log). PostgreSQL applies SASLprep to the password first; for the printable
// ASCII passwords that config allows that is the identity, so the verifier matches exactly.
func PostgresSCRAMVerifier(password string, salt []byte) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram verifier: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}

// scramIterations is PostgreSQL's default (scram_iterations) for the verifiers it computes.
const scramIterations = 4096
