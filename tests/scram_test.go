package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pynomaly/pynomaly-platform/credentials"
)

// The verifier the setup job sends is checked against RFC 7677's SCRAM-SHA-256 exchange (user
// "user", password "pencil"): the StoredKey must accept the client's proof and the ServerKey
// must produce the server's signature. The exchange comes from the RFC, not from our code.
func TestSCRAMVerifierMatchesRFC7677(t *testing.T) {
	salt, err := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	require.NoError(t, err)
	v, err := credentials.PostgresSCRAMVerifier("pencil", salt)
	require.NoError(t, err)

	head, keys, ok := strings.Cut(v, "$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
	require.True(t, ok, "PostgreSQL's format: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>: %s", v)
	assert.Equal(t, "SCRAM-SHA-256", head)
	storedB64, serverB64, ok := strings.Cut(keys, ":")
	require.True(t, ok, v)
	stored, err := base64.StdEncoding.DecodeString(storedB64)
	require.NoError(t, err)
	server, err := base64.StdEncoding.DecodeString(serverB64)
	require.NoError(t, err)

	const (
		clientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO"
		serverFirst     = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
		clientFinalBare = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		clientProof     = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
		serverSignature = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
	)
	authMessage := clientFirstBare + "," + serverFirst + "," + clientFinalBare
	mac := func(key []byte) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(authMessage))
		return h.Sum(nil)
	}
	// The server's check (RFC 5802 section 3): ClientKey = proof XOR HMAC(StoredKey, AuthMessage),
	// and H(ClientKey) must be StoredKey.
	proof, err := base64.StdEncoding.DecodeString(clientProof)
	require.NoError(t, err)
	signature := mac(stored)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ signature[i]
	}
	sum := sha256.Sum256(clientKey)
	assert.Equal(t, stored, sum[:], "the StoredKey accepts RFC 7677's client proof")
	assert.Equal(t, serverSignature, base64.StdEncoding.EncodeToString(mac(server)), "the ServerKey signs as in RFC 7677")

	other, err := credentials.PostgresSCRAMVerifier("pencil2", salt)
	require.NoError(t, err)
	assert.NotEqual(t, v, other)
}
