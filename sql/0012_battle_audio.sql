-- Spoken turns: a battle may ask for audio of every turn (the seed's enableTTS); a turn keeps its audio
-- (the seed's audioUrl) for a while, and its text forever. The audio is an agent's own, or speech the
-- server made from the text. Files live under the data directory; the row says where, what type its
-- bytes showed, and how long it plays.
ALTER TABLE battles ADD COLUMN enable_tts boolean NOT NULL DEFAULT false;

ALTER TABLE battle_turns
    -- none: no audio wanted (or a timed-out turn); pending: synthesis on its way; ready: the file is
    -- there; failed: the engine could not make it; expired: retention removed the file.
    ADD COLUMN audio_status text NOT NULL DEFAULT 'none'
        CHECK (audio_status IN ('none', 'pending', 'ready', 'failed', 'expired')),
    ADD COLUMN audio_source text CHECK (audio_source IN ('agent', 'synth')),
    ADD COLUMN audio_path text,
    ADD COLUMN audio_mime text,
    ADD COLUMN audio_bytes integer CHECK (audio_bytes >= 0),
    ADD COLUMN audio_duration_ms integer CHECK (audio_duration_ms >= 0),
    ADD COLUMN audio_sha256 char(64),
    -- When a process took the synthesis on; a pending turn whose claim is old is taken again.
    ADD COLUMN audio_claimed_at timestamptz,
    ADD COLUMN audio_ready_at timestamptz,
    ADD CONSTRAINT battle_turns_audio_file CHECK ((audio_status = 'ready') = (audio_path IS NOT NULL));

CREATE INDEX battle_turns_audio_kept_idx ON battle_turns (audio_ready_at) WHERE audio_path IS NOT NULL;
CREATE INDEX battle_turns_audio_pending_idx ON battle_turns (audio_claimed_at) WHERE audio_status = 'pending';
