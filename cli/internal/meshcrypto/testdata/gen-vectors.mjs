// gen-vectors.mjs computes the libsodium test vectors in libsodium-vectors.json,
// which vectors_test.go checks the Go implementation against. The tests only
// read the JSON; they never run Node.
//
// To re-run it (Node 20 or later), copy this file into an empty scratch
// directory outside the repository (Node resolves the import next to the
// script), then from that directory:
//
//   npm install libsodium-wrappers@0.8.4
//   node gen-vectors.mjs > libsodium-vectors.json
//
// and copy libsodium-vectors.json over testdata/libsodium-vectors.json.
// libsodium-wrappers 0.8.4 embeds libsodium 1.0.22.
//
// Everything is derived from fixed seeds, keys and nonces, so the
// deterministic values (keys, conversions, crypto_box_easy,
// crypto_secretbox_easy, signatures) come out the same on every run. The
// sealed boxes (crypto_box_seal) use a fresh ephemeral key each time, so they
// change on every run; the Go tests open them rather than reproduce them.
//
// Byte strings are lowercase hex unless a field name ends in _b64, which is
// standard base64 with padding (libsodium's base64_variants.ORIGINAL), the
// encoding the classic protocol uses on the wire.

import sodium from "libsodium-wrappers";

await sodium.ready;

const B64 = sodium.base64_variants.ORIGINAL;
const hex = (b) => sodium.to_hex(b);
const b64 = (b) => sodium.to_base64(b, B64);
const fill = (n, v) => new Uint8Array(n).fill(v);
const seq = (n, start) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const utf8 = (s) => sodium.from_string(s);

// Key pairs from fixed 32-byte seeds. "session" and "member" are the
// recipient's two keys in the classic client's decrypt fallback chain.
const seeds = {
  sender: fill(32, 0x11),
  recipient: fill(32, 0x22),
  member: fill(32, 0x33),
};
const keys = {};
const keypairs = [];
for (const [name, seed] of Object.entries(seeds)) {
  const kp = sodium.crypto_sign_seed_keypair(seed);
  const xpk = sodium.crypto_sign_ed25519_pk_to_curve25519(kp.publicKey);
  const xsk = sodium.crypto_sign_ed25519_sk_to_curve25519(kp.privateKey);
  keys[name] = { pk: kp.publicKey, sk: kp.privateKey, xpk, xsk };
  keypairs.push({
    name,
    seed: hex(seed),
    pk: hex(kp.publicKey),
    sk: hex(kp.privateKey), // 64 bytes: seed || pk, the classic config form
    x25519_pk: hex(xpk), // crypto_sign_ed25519_pk_to_curve25519
    x25519_sk: hex(xsk), // crypto_sign_ed25519_sk_to_curve25519
    x25519_pk_from_sk: hex(sodium.crypto_scalarmult_base(xsk)),
  });
}

// crypto_sign_ed25519_pk_to_curve25519 on edge-case public keys; x25519 is
// null where libsodium refuses the key. The candidates were chosen with
// filippo.io/edwards25519: small-order points (with and without the sign
// bit), a y with no point on the curve, non-canonical encodings y = p+k of
// small y values, the sender key plus a point of order 8 (outside the
// prime-order subgroup), the negated sender key, and the base point.
const edgeKeys = [
  ["sender", hex(keys.sender.pk)],
  ["sender negated (sign bit flipped)", "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c97787b7"],
  ["sender plus a point of order 8", "05d5383d77d4debb792d3dde7fa57bbb201404f277691fac68f5b1e669aea2eb"],
  ["base point", "5866666666666666666666666666666666666666666666666666666666666666"],
  ["y = 0, order 4", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["y = 0 with sign bit", "0000000000000000000000000000000000000000000000000000000000000080"],
  ["y = 1, identity", "0100000000000000000000000000000000000000000000000000000000000000"],
  ["y = 1 with sign bit", "0100000000000000000000000000000000000000000000000000000000000080"],
  ["order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"],
  ["order 8", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"],
  ["order 8 with sign bit", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"],
  ["y = p-1, order 2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = p, non-canonical 0", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = p+1, non-canonical 1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = 2, not on the curve", "0200000000000000000000000000000000000000000000000000000000000000"],
  ["y = p+3, non-canonical 3", "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = p+4, non-canonical 4", "f1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = p+9, non-canonical 9", "f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = p+18, non-canonical 18", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"],
  ["y = 3", "0300000000000000000000000000000000000000000000000000000000000000"],
  ["y = 9", "0900000000000000000000000000000000000000000000000000000000000000"],
  ["y = 2^255 - 1 with sign bit", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"],
];
const pkToCurve = edgeKeys.map(([note, pk]) => {
  let x25519 = null;
  try {
    x25519 = hex(sodium.crypto_sign_ed25519_pk_to_curve25519(sodium.from_hex(pk)));
  } catch {
    // libsodium: "invalid key"
  }
  return { note, pk, x25519 };
});

// Plaintexts shared by the box and secretbox vectors.
const plaintexts = [
  ["empty", new Uint8Array(0)],
  ["ascii", utf8("hello from claudemesh")],
  ["utf8", utf8("héllo wörld 🌍👋 — ünïcödé ✓ 日本語")],
  ["multiline", utf8("line one\nline two\r\n\ttabbed")],
  ["1KiB", Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) & 0xff)],
];

// crypto_box_easy with a fixed nonce (bytes 0x00..0x17).
const boxNonce = seq(24, 0x00);
const boxPairs = [
  ["sender", "recipient"],
  ["recipient", "sender"],
  ["sender", "member"],
];
const box = [];
for (const [from, to] of boxPairs) {
  for (const [name, pt] of plaintexts) {
    box.push({
      name: `${name} ${from}->${to}`,
      sender: from,
      recipient: to,
      plaintext: hex(pt),
      nonce_b64: b64(boxNonce),
      ciphertext_b64: b64(sodium.crypto_box_easy(pt, boxNonce, keys[to].xpk, keys[from].xsk)),
    });
  }
}

// crypto_secretbox_easy with fixed keys and nonces. object_b64 is the
// uploaded-file layout nonce(24) || secretbox ciphertext.
const secretboxKeys = [
  [fill(32, 0x44), seq(24, 0x30)],
  [seq(32, 0x80), fill(24, 0xa5)],
];
const secretbox = [];
for (const [key, nonce] of secretboxKeys) {
  for (const [name, pt] of plaintexts) {
    const ct = sodium.crypto_secretbox_easy(pt, nonce, key);
    const object = new Uint8Array(nonce.length + ct.length);
    object.set(nonce, 0);
    object.set(ct, nonce.length);
    secretbox.push({
      name,
      key: hex(key),
      nonce: hex(nonce),
      plaintext: hex(pt),
      ciphertext_b64: b64(ct),
      object_b64: b64(object),
    });
  }
}

// crypto_box_seal to each key pair's X25519 key. The 32-byte ones are file
// keys (OpenSealedKey); the rest check the general sealed-box layout.
const sealInputs = [
  ["file key", fill(32, 0x44)],
  ["file key", seq(32, 0x80)],
  ["empty", new Uint8Array(0)],
  ["31 bytes", seq(31, 0x01)],
  ["33 bytes", seq(33, 0x01)],
  ["ascii", utf8("hello from claudemesh")],
];
const boxSeal = [];
for (const to of Object.keys(keys)) {
  for (const [name, pt] of sealInputs) {
    const sealed = sodium.crypto_box_seal(pt, keys[to].xpk);
    // Self-check: libsodium opens what it sealed.
    const opened = sodium.crypto_box_seal_open(sealed, keys[to].xpk, keys[to].xsk);
    if (hex(opened) !== hex(pt)) throw new Error("crypto_box_seal self-check failed");
    boxSeal.push({ name, recipient: to, plaintext: hex(pt), sealed_b64: b64(sealed) });
  }
}

// Vault entries as the classic CLI stores them: ciphertext without the nonce
// prefix, the nonce, and the file key sealed to the member key.
const vault = [];
for (const [name, value] of [["secret", utf8("sk-live-0123456789abcdef")], ["empty", new Uint8Array(0)], ["1KiB", plaintexts[4][1]]]) {
  const key = sodium.crypto_secretbox_keygen();
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
  vault.push({
    name,
    member: "member",
    value: hex(value),
    ciphertext_b64: b64(sodium.crypto_secretbox_easy(value, nonce, key)),
    nonce_b64: b64(nonce),
    sealed_key_b64: b64(sodium.crypto_box_seal(key, keys.member.xpk)),
  });
}

// Detached ed25519 signatures over hello strings
// ("<meshId>|<memberId>|<pubkey>|<timestampMs>") and an empty message.
const signatures = [];
for (const name of Object.keys(keys)) {
  for (const msg of [`mesh_0123456789abcdef0123456789ab|mem_0123456789abcdef0123456789abc|${hex(keys[name].pk)}|1776254400000`, ""]) {
    signatures.push({
      signer: name,
      message: msg,
      signature: hex(sodium.crypto_sign_detached(utf8(msg), keys[name].sk)),
    });
  }
}

// Group/broadcast bodies: base64 of the UTF-8 text, as the classic client
// sends them (Buffer.from(text, "utf-8").toString("base64")).
const plain = ["hello everyone", "héllo wörld 🌍👋", "line one\nline two\r\n\ttabbed", "a", "ab", "abc"].map((text) => ({
  text,
  ciphertext_b64: Buffer.from(text, "utf-8").toString("base64"),
}));

const out = {
  generator: "gen-vectors.mjs",
  libsodium_wrappers: "0.8.4",
  libsodium: sodium.sodium_version_string(),
  keypairs,
  pk_to_curve25519: pkToCurve,
  box,
  secretbox,
  box_seal: boxSeal,
  vault,
  signatures,
  plain,
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
