"""Known-answer tests of the algorithms GovFlow uses (issue 15, Art. 26), from the standards' own examples.

Where the numbers come from:
- SM3: GB/T 32905-2016 Annex A, examples 1 ("abc") and 2 ("abcd" x 16), as OpenSSL's
  test/recipes/30-test_evp_data/evpmd_sm3.txt also carries them.
- HMAC-SM3: GM/T 0042-2015 Appendix D.3, as in OpenSSL's test/recipes/30-test_evp_data/evpmac_sm3.txt.
  HMAC-SHA256: RFC 4231, test cases 1 and 2.
- SM4: GB/T 32907-2016 Annex A, examples 1 (one block) and 2 (1,000,000 encryptions); also in gmalg's
  tests.py (github.com/ww-rm/gmalg, commit 3227e81, TestSM4).
- SM4-GCM: RFC 8998 Appendix A.1. AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation",
  test case 16 (NIST SP 800-38D's reference vectors).
- SM2: GB/T 32918.2-2016 Annex A (signature on the standard's 256-bit test curve, message "message digest",
  ID ALICE123@YAHOO.COM, fixed k), and GB/T 32918.5-2017 (the recommended curve's parameters, and its
  Annex A signature example with ID 1234567812345678); the numbers as in gmalg's tests.py (commit 3227e81,
  TestSM2.test_sign1 and test_sign2) and in OpenSSL's test/sm2_internal_test.c. Z_A of the Annex A example
  as in OpenSSL's evpmd_sm3.txt (from draft-shen-sm2-ecdsa-02, the same example).
"""

from __future__ import annotations

import base64
import textwrap
import time

import gmalg
import gmalg.ellipticcurve as ec
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.crypto import algorithms as crypto


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- SM3 (GB/T 32905-2016 Annex A) --------------------------------------------------------------------------

SM3_ABC = "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"
SM3_ABCD16 = "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732"


@pytest.mark.parametrize("message, expected", [(b"abc", SM3_ABC), (b"abcd" * 16, SM3_ABCD16)])
def test_sm3_gbt_32905_annex_a(message: bytes, expected: str) -> None:
    assert crypto.digest_hex("sm3", message) == expected.replace(" ", "")
    running = crypto.new_digest("sm3")  # fed in pieces, as attachments are
    for i in range(0, len(message), 7):
        running.update(message[i:i + 7])
    assert running.hexdigest() == expected.replace(" ", "")


def test_sha256_and_unknown_digest() -> None:
    assert crypto.digest_hex("sha256", b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # FIPS 180-2 example
    with pytest.raises(crypto.UnknownAlgorithm):
        crypto.digest_hex("md5", b"abc")


# --- HMAC ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg, key, message, expected", [
    ("hmac-sm3", h("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"),
     b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
     "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a"),
    ("hmac-sm3", h("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425"), b"\xcd" * 50,
     "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae"),
    ("hmac-sm3", b"\x0b" * 32, b"Hi There", "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"),
    ("hmac-sm3", b"Jefe Jeferson Jr", b"what do ya want for nothing?",
     "ce791a34c59adef472997a249600f3f244d59e875be04055ba2ae12fc845e78c"),
    ("hmac-sha256", b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    ("hmac-sha256", b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
])
def test_hmac_known_answers(alg: str, key: bytes, message: bytes, expected: str) -> None:
    assert crypto.hmac_hex(alg, key, message) == expected


def test_hmac_of_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(crypto.UnknownAlgorithm):
        crypto.hmac_hex("hmac-md5", b"k", b"m")


# --- SM4 (GB/T 32907-2016 Annex A) --------------------------------------------------------------------------

SM4_KEY = h("0123456789abcdeffedcba9876543210")


def test_sm4_example_1_one_block() -> None:
    cipher = Cipher(algorithms.SM4(SM4_KEY), modes.ECB())
    assert cipher.encryptor().update(SM4_KEY) == h("681edf34d206965e86b3e94f536e4246")
    assert cipher.decryptor().update(h("681edf34d206965e86b3e94f536e4246")) == SM4_KEY


def test_sm4_example_2_one_million_encryptions(record_property) -> None:  # type: ignore[no-untyped-def]
    """The same block encrypted 1,000,000 times (the block cipher GovFlow's SM4-GCM runs on)."""
    started = time.perf_counter()
    enc = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    for _ in range(1_000_000):
        block = enc.update(block)
    record_property("sm4_million_seconds", round(time.perf_counter() - started, 2))
    assert block == h("595298c7c6fd271f0402f804c33d3f66")


def test_sm4_gcm_is_sm4_and_aes_gcm_is_aes() -> None:
    """The cipher names map to the right block ciphers and key lengths."""
    assert crypto.key_bytes("sm4-gcm") == 16 and crypto.key_bytes("aes-256-gcm") == 32
    assert len(crypto.new_key("sm4-gcm")) == 16 and crypto.new_key("sm4-gcm") != crypto.new_key("sm4-gcm")
    with pytest.raises(ValueError):
        crypto.StreamEncryptor("sm4-gcm", b"\0" * 32, b"\0" * 12)  # an AES-256 key is not an SM4 key
    with pytest.raises(crypto.UnknownAlgorithm):
        crypto.new_key("des-cbc")


# --- SM4-GCM (RFC 8998 A.1) and AES-256-GCM (McGrew-Viega test case 16) ------------------------------------

GCM_VECTORS = {
    "sm4-gcm": dict(
        key=h("0123456789ABCDEFFEDCBA9876543210"), nonce=h("00001234567800000000ABCD"),
        aad=h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"),
        plaintext=h("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFF EEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"),
        ciphertext=h("17F399F08C67D5EE19D0DC9969C4BB7D 5FD46FD3756489069157B282BB200735"
                     "D82710CA5C22F0CCFA7CBF93D496AC15 A56834CBCF98C397B4024A2691233B8D"),
        tag=h("83DE3541E4C2B58177E065A9BF7B62EC")),
    "aes-256-gcm": dict(
        key=h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
        nonce=h("cafebabefacedbaddecaf888"), aad=h("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        plaintext=h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
        ciphertext=h("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"),
        tag=h("76fc6ece0f4e1768cddf8853bb2d551b")),
}


@pytest.mark.parametrize("alg", sorted(GCM_VECTORS))
def test_gcm_vector_through_the_stream_encryptor(alg: str) -> None:
    v = GCM_VECTORS[alg]
    enc = crypto.StreamEncryptor(alg, v["key"], v["nonce"], v["aad"])
    # In uneven chunks, as an upload arrives.
    out = b"".join(enc.update(v["plaintext"][i:i + 23]) for i in range(0, len(v["plaintext"]), 23))
    assert out == v["ciphertext"]
    assert enc.finalize() == v["tag"]


@pytest.mark.parametrize("alg", sorted(GCM_VECTORS))
def test_gcm_vector_opens_with_open_sealed_and_any_change_fails(alg: str) -> None:
    v = GCM_VECTORS[alg]
    sealed = v["nonce"] + v["ciphertext"] + v["tag"]  # seal()'s layout: nonce ‖ ciphertext ‖ tag
    assert crypto.open_sealed(alg, v["key"], sealed, v["aad"]) == v["plaintext"]
    for index in (0, 12, len(sealed) - 17, len(sealed) - 1):  # nonce, ciphertext, its last byte, tag
        damaged = bytearray(sealed)
        damaged[index] ^= 0x01
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sealed(alg, v["key"], bytes(damaged), v["aad"])
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(alg, v["key"], sealed, v["aad"] + b"x")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(alg, v["key"], sealed[:27])
    dec = crypto.StreamDecryptor(alg, v["key"], v["nonce"], v["tag"][:15] + b"\0", v["aad"])
    dec.update(v["ciphertext"])
    with pytest.raises(crypto.DecryptionFailed):
        dec.finalize()


@pytest.mark.parametrize("alg", sorted(GCM_VECTORS))
def test_seal_draws_a_fresh_nonce_each_time(alg: str) -> None:
    key = crypto.new_key(alg)
    one, two = crypto.seal(alg, key, b"secret", b"purpose"), crypto.seal(alg, key, b"secret", b"purpose")
    assert one[:12] != two[:12] and len(one) == 12 + 6 + 16
    assert crypto.open_sealed(alg, key, one, b"purpose") == crypto.open_sealed(alg, key, two, b"purpose") == b"secret"


# --- SM2 (GB/T 32918.2-2016 Annex A; GB/T 32918.5-2017) -----------------------------------------------------

# The test curve of GB/T 32918.2 Annex A (A.2, Fp-256), not the recommended one.
TEST_CURVE = dict(
    p=0x8542D69E_4C044F18_E8B92435_BF6FF7DE_45728391_5C45517D_722EDB8B_08F1DFC3,
    a=0x787968B4_FA32C3FD_2417842E_73BBFEFF_2F3C848B_6831D7E0_EC65228B_3937E498,
    b=0x63E4C6D3_B23B0C84_9CF84241_484BFE48_F61D59A5_B16BA06E_6E12D1DA_27C5249A,
    G=(0x421DEBD6_1B62EAB6_746434EB_C3CC315E_32220B3B_ADD50BDC_4C4E6C14_7FEDD43D,
       0x0680512B_CBB42C07_D47349D2_153B70C4_E5D7FDFC_BFA36EA1_A85841B9_E46E09A2),
    n=0x8542D69E_4C044F18_E8B92435_BF6FF7DD_29772063_0485628D_5AE74EE7_C32E79B7,
)
ANNEX_A = dict(
    d=0x128B2FA8_BD433C6C_068C8D80_3DFF7979_2A519A55_171B1B65_0C23661D_15897263,
    P=(0x0AE4C779_8AA0F119_471BEE11_825BE462_02BB79E2_A5844495_E97C04FF_4DF2548A,
       0x7C0240F8_8F1CD4E1_6352A73C_17B7F16F_07353E53_A176D684_A9FE0C6B_B798E857),
    k=0x6CB28D99_385C175C_94F94E93_4817663F_C176D925_DD72B727_260DBAAE_1FB2F96F,
    uid=b"ALICE123@YAHOO.COM",
    Z=h("F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"),
    r=0x40F1EC59_F793D9F4_9E09DCEF_49130D41_94F79FB1_EED2CAA5_5BACDB49_C4E755D1,
    s=0x6FC6DAC3_2C5D5CF1_0C77DFB2_0F7C2EB6_67A45787_2FB09EC5_6327A67E_C7DEEBE7,
)
# GB/T 32918.5-2017: the recommended curve sm2p256v1.
RECOMMENDED = dict(
    p=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF,
    a=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC,
    b=0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93,
    G=(0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7,
       0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0),
    n=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123,
)
# GB/T 32918.5-2017 Annex A's signature example on the recommended curve.
PART5 = dict(
    d=h("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8"),
    point=h("04 09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020"
            "CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13"),
    k=0x59276E27_D506861A_16680F3A_D9C02DCC_EF3CC1FA_3CDBE4CE_6D54B80D_EAC1BC21,
    r=0xF5A03B06_48D2C463_0EEAC513_E1BB81A1_5944DA38_27D5B741_43AC7EAC_EEE720B3,
    s=0xB1B6AA29_DF212FD8_763182BC_0D421CA1_BB9038FD_1F7F42D4_840B69C4_85BBC1AA,
)
SPKI_PREFIX = h("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def sm2_pem(point: bytes) -> str:
    """The SubjectPublicKeyInfo PEM of an SM2 point (id-ecPublicKey, curve 1.2.156.10197.1.301)."""
    body = base64.b64encode(SPKI_PREFIX + point).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(textwrap.wrap(body, 64)) + "\n-----END PUBLIC KEY-----\n"


def test_sm2_gbt_32918_2_annex_a_signature_on_the_test_curve() -> None:
    """gmalg's core, given the standard's test curve and its k, computes the standard's Z_A, r and s."""
    c = TEST_CURVE
    core = gmalg.sm2.SM2Core(ec.ECDLP(c["p"], c["a"], c["b"], c["G"], c["n"]), gmalg.SM3(),
                             lambda bits: ANNEX_A["k"])
    assert core.generate_pk(ANNEX_A["d"]) == ANNEX_A["P"]
    assert core.entity_info(ANNEX_A["uid"], ANNEX_A["P"]) == ANNEX_A["Z"]
    r, s = core.sign(b"message digest", ANNEX_A["d"], ANNEX_A["uid"], ANNEX_A["P"])
    assert (r, s) == (ANNEX_A["r"], ANNEX_A["s"])
    assert core.verify(b"message digest", r, s, ANNEX_A["uid"], ANNEX_A["P"])
    assert not core.verify(b"message digesT", r, s, ANNEX_A["uid"], ANNEX_A["P"])
    assert not core.verify(b"message digest", r, s, b"BILL456@YAHOO.COM", ANNEX_A["P"])


def test_the_recommended_curve_of_gbt_32918_5_is_gmalgs() -> None:
    curve = gmalg.sm2._ecdlp
    assert (curve.fp.p, curve.ec.a, curve.ec.b, curve.G, curve.fpn.p, curve.h) == (
        RECOMMENDED["p"], RECOMMENDED["a"], RECOMMENDED["b"], RECOMMENDED["G"], RECOMMENDED["n"], 1)
    assert curve.ec.isvalid(curve.G)


def test_sm2_gbt_32918_5_example_signs_with_the_fixed_k_and_verifies_through_our_wrapper() -> None:
    signer = gmalg.SM2(PART5["d"], crypto.SM2_DEFAULT_ID, PART5["point"], rnd_fn=lambda bits: PART5["k"])
    assert signer.generate_pk(PART5["d"]) == PART5["point"]
    r, s = signer.sign(b"message digest")
    assert (int.from_bytes(r, "big"), int.from_bytes(s, "big")) == (PART5["r"], PART5["s"])
    # The same signature, DER-encoded, verifies through app.crypto's verify with the default signer ID.
    der = encode_dss_signature(PART5["r"], PART5["s"])
    pem = sm2_pem(PART5["point"])
    assert crypto.verify("sm2-sm3", pem, b"message digest", der) is True
    assert crypto.verify("sm2-sm3", pem, b"message digesT", der) is False
    assert crypto.verify("sm2-sm3", pem, b"message digest", encode_dss_signature(PART5["r"], PART5["s"] ^ 1)) is False


@pytest.mark.parametrize("alg", ["sm2-sm3", "ecdsa-p256-sha256"])
def test_sign_and_verify_round_trip(alg: str) -> None:
    pair = crypto.generate_keypair(alg)
    assert pair.alg == alg and pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    sig = crypto.sign(alg, pair.private, pair.public_pem, "评判决定书 第1号".encode())
    assert crypto.verify(alg, pair.public_pem, "评判决定书 第1号".encode(), sig) is True
    assert crypto.verify(alg, pair.public_pem, "评判决定书 第2号".encode(), sig) is False
    other = crypto.generate_keypair(alg)
    assert crypto.verify(alg, other.public_pem, "评判决定书 第1号".encode(), sig) is False
    assert len(crypto.public_key_fingerprint(pair.public_pem)) == 16
    assert crypto.public_key_fingerprint(pair.public_pem) != crypto.public_key_fingerprint(other.public_pem)
    with pytest.raises(crypto.UnknownAlgorithm):
        crypto.sign("rsa-pss", pair.private, pair.public_pem, b"x")
