"""Electronic signatures on decisions (Art. 26): each department's signing key (SM2 or ECDSA, sealed under
a master key), the documents signed when issued (share replies, adjudication decisions, rectification
notices), and their public verification by document number and verification code."""
