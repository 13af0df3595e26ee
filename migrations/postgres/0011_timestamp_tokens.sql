-- Notarium notary store, PostgreSQL schema v11: RFC 3161 timestamp tokens
-- over final checkpoints (issue 21, contract §9). The notary asks each
-- configured TSA for a token over SHA-256 of a final checkpoint's body,
-- checks it (imprint, nonce, signature, chain, timeStamping EKU) and only
-- then stores it here; certificates carry the stored tokens of their
-- checkpoint. One token per checkpoint and TSA: a second one for the same
-- pair is ignored (the first is kept), so certificates do not change.
--
-- `tsa` is the TSA's configured URL; `token` the DER TimeStampToken (a CMS
-- ContentInfo, not the TimeStampResp around it); `gen_time` its genTime in
-- Unix seconds.
CREATE TABLE timestamp_tokens (
    size      bigint NOT NULL REFERENCES final_checkpoints (size),
    tsa       text NOT NULL,
    token     bytea NOT NULL,
    gen_time  bigint NOT NULL,
    stored_ms bigint NOT NULL,
    PRIMARY KEY (size, tsa)
);
