;; LZ4 block decoder for segment data blocks (docs/format.md, "Block trailer";
;; lib/format/lz4-scratch.ts runs it). Compiled by `npm run build:wasm`
;; (tools/dev/build-wasm.ts) into lz4-block-decoder-wasm.ts, which the code loads;
;; a test checks that the two agree.
;;
;; decode(src, srcEnd, dst, dstEnd) decodes the LZ4 block at [src, srcEnd)
;; into [dst, dstEnd) and returns the bytes written, or -1 when the block is
;; malformed or would write past dstEnd. The caller leaves 16 readable bytes
;; after srcEnd and 16 writable bytes after dstEnd: literals of up to 16 bytes
;; are copied as two 8-byte words, and matches 8 bytes at a time ("wild
;; copies"), so a copy may run up to 15 bytes past its end; those bytes are
;; overwritten by the next copy or lie past the block. Every offset and length
;; is checked against the two ranges before it is used, so no input makes the
;; decoder read or write outside them (and the slack).
(module
  (memory (export "memory") 1)
  (func (export "decode") (param $src i32) (param $srcEnd i32) (param $dst i32) (param $dstEnd i32) (result i32)
    (local $d i32) (local $token i32) (local $len i32) (local $b i32) (local $off i32) (local $from i32) (local $end i32)
    (local.set $d (local.get $dst))
    (block $bad
      (loop $sequence
        ;; The token: literal length in the high 4 bits, match length - 4 in the low 4.
        (br_if $bad (i32.ge_u (local.get $src) (local.get $srcEnd)))
        (local.set $token (i32.load8_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        ;; Literal length: 15 means more bytes follow, each added, until one below 255.
        (local.set $len (i32.shr_u (local.get $token) (i32.const 4)))
        (if (i32.eq (local.get $len) (i32.const 15))
          (then
            (loop $more
              (br_if $bad (i32.ge_u (local.get $src) (local.get $srcEnd)))
              (local.set $b (i32.load8_u (local.get $src)))
              (local.set $src (i32.add (local.get $src) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $bad (i32.ge_u (local.get $len) (i32.const 0x40000000)))
              (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
        (br_if $bad (i32.gt_u (local.get $len) (i32.sub (local.get $srcEnd) (local.get $src))))
        (br_if $bad (i32.gt_u (local.get $len) (i32.sub (local.get $dstEnd) (local.get $d))))
        (if (i32.le_u (local.get $len) (i32.const 16))
          (then
            (i64.store (local.get $d) (i64.load (local.get $src)))
            (i64.store offset=8 (local.get $d) (i64.load offset=8 (local.get $src))))
          (else (memory.copy (local.get $d) (local.get $src) (local.get $len))))
        (local.set $src (i32.add (local.get $src) (local.get $len)))
        (local.set $d (i32.add (local.get $d) (local.get $len)))
        ;; The last sequence is literals only.
        (if (i32.eq (local.get $src) (local.get $srcEnd))
          (then (return (i32.sub (local.get $d) (local.get $dst)))))
        ;; The match: a 2-byte offset back from the write position, within what is written.
        (br_if $bad (i32.lt_u (i32.sub (local.get $srcEnd) (local.get $src)) (i32.const 2)))
        (local.set $off (i32.load16_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (br_if $bad (i32.eqz (local.get $off)))
        (br_if $bad (i32.gt_u (local.get $off) (i32.sub (local.get $d) (local.get $dst))))
        (local.set $len (i32.add (i32.and (local.get $token) (i32.const 15)) (i32.const 4)))
        (if (i32.eq (local.get $len) (i32.const 19))
          (then
            (loop $more
              (br_if $bad (i32.ge_u (local.get $src) (local.get $srcEnd)))
              (local.set $b (i32.load8_u (local.get $src)))
              (local.set $src (i32.add (local.get $src) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $bad (i32.ge_u (local.get $len) (i32.const 0x40000000)))
              (br_if $more (i32.eq (local.get $b) (i32.const 255))))))
        (br_if $bad (i32.gt_u (local.get $len) (i32.sub (local.get $dstEnd) (local.get $d))))
        (local.set $from (i32.sub (local.get $d) (local.get $off)))
        (local.set $end (i32.add (local.get $d) (local.get $len)))
        (if (i32.ge_u (local.get $off) (i32.const 8))
          (then
            ;; 8 bytes at a time: with the offset at least 8, each word read lies before the write position.
            (loop $copy
              (i64.store (local.get $d) (i64.load (local.get $from)))
              (local.set $d (i32.add (local.get $d) (i32.const 8)))
              (local.set $from (i32.add (local.get $from) (i32.const 8)))
              (br_if $copy (i32.lt_u (local.get $d) (local.get $end)))))
          (else
            ;; A short offset repeats a pattern: byte by byte, since a byte read may be one this match wrote.
            (loop $copy
              (i32.store8 (local.get $d) (i32.load8_u (local.get $from)))
              (local.set $d (i32.add (local.get $d) (i32.const 1)))
              (local.set $from (i32.add (local.get $from) (i32.const 1)))
              (br_if $copy (i32.lt_u (local.get $d) (local.get $end))))))
        (local.set $d (local.get $end))
        (br $sequence)))
    (i32.const -1)))
