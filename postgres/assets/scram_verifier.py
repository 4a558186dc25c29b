import base64, hashlib, hmac, os, sys
password = os.environ[sys.argv[1]].encode()
salt = os.urandom(16)
salted = hashlib.pbkdf2_hmac("sha256", password, salt, 4096)
key = lambda name: hmac.new(salted, name, "sha256").digest()
b64 = lambda b: base64.b64encode(b).decode()
print("SCRAM-SHA-256$4096:%s$%s:%s" % (b64(salt), b64(hashlib.sha256(key(b"Client Key")).digest()), b64(key(b"Server Key"))))
