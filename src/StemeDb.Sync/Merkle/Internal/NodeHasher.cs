using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The inner node hash of root version 2 (docs/PROTOCOL.md, "Merkle index and root"): BLAKE3 in derive-key mode with
/// the context <see cref="InnerContext"/> over the 64 bytes <c>left || right</c>. That input is exactly one BLAKE3
/// block, so each hash is one compression; this class computes it directly, for many independent nodes at once across
/// the lanes of a vector (16, 8 or 4 lanes, with a scalar fallback).
/// </summary>
/// <remarks>
/// <para>
/// In derive-key mode BLAKE3 first hashes the context string into a 32-byte context key, then hashes the key material
/// with that key as its chaining value and the DERIVE_KEY_MATERIAL flag. The context key is computed once, by the same
/// compression with the DERIVE_KEY_CONTEXT flag (the context is shorter than one block). A 64-byte input is one chunk of one block, so its hash is the single compression of the block with
/// counter 0, block length 64 and the flags CHUNK_START | CHUNK_END | ROOT | DERIVE_KEY_MATERIAL; the output is the
/// first 8 words of its result. The tests check every lane count bit for bit against the Blake3 package.
/// </para>
/// <para>
/// The lanes are written once, generically over <see cref="ILanes{TSelf}"/>: each implementation is a struct, so the
/// compiler specializes the kernel for it and the calls inline to plain vector instructions.
/// </para>
/// </remarks>
internal static class NodeHasher
{
    /// <summary>The derive-key context of inner nodes (root version 2).</summary>
    public const string InnerContext = "StemeDb.Sync 2026-12-02 Merkle inner node v2";

    /// <summary>The derive-key context whose hash of the empty input is the root of the empty set (root version 2).</summary>
    public const string EmptyContext = "StemeDb.Sync 2026-12-02 Merkle empty set v2";

    /// <summary>The number of words a value takes in a word array: a hash as BLAKE3 reads it, 8 little-endian words.</summary>
    public const int ValueWords = 8;

    /// <summary>The most lanes of any implementation.</summary>
    internal const int MaxLanes = 16;

    private const uint ChunkStart = 1;
    private const uint ChunkEnd = 2;
    private const uint RootFlag = 8;
    private const uint DeriveKeyMaterial = 64;
    private const uint Flags = ChunkStart | ChunkEnd | RootFlag | DeriveKeyMaterial;
    private const uint BlockLength = 64;

    /// <summary>BLAKE3's initial chaining value.</summary>
    private static readonly uint[] Iv = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19];

    /// <summary>The chaining value of inner node hashes: the context key of <see cref="InnerContext"/>, as 8 words.</summary>
    private static readonly uint[] ContextKey = ComputeContextKey(InnerContext);

    /// <summary>The inner node hash of <paramref name="left"/> and <paramref name="right"/>, one at a time (scalar).</summary>
    public static Key256 Inner(in Key256 left, in Key256 right)
    {
        Span<uint> values = stackalloc uint[3 * ValueWords];
        ToWords(left, values);
        ToWords(right, values[ValueWords..]);
        ReadOnlySpan<NodeJob> job = [new NodeJob(0, 1, 2)];
        HashGroup<Lanes1>(values, job);
        return FromWords(values[(2 * ValueWords)..]);
    }

    /// <summary>Writes the 32 bytes of <paramref name="value"/> as BLAKE3 reads them: 8 little-endian words.</summary>
    public static void ToWords(in Key256 value, Span<uint> destination)
    {
        // A Key256 holds the bytes as big-endian 64-bit words, so each 32-bit half is byte-swapped.
        destination[0] = BinaryPrimitives.ReverseEndianness((uint)(value.W0 >> 32));
        destination[1] = BinaryPrimitives.ReverseEndianness((uint)value.W0);
        destination[2] = BinaryPrimitives.ReverseEndianness((uint)(value.W1 >> 32));
        destination[3] = BinaryPrimitives.ReverseEndianness((uint)value.W1);
        destination[4] = BinaryPrimitives.ReverseEndianness((uint)(value.W2 >> 32));
        destination[5] = BinaryPrimitives.ReverseEndianness((uint)value.W2);
        destination[6] = BinaryPrimitives.ReverseEndianness((uint)(value.W3 >> 32));
        destination[7] = BinaryPrimitives.ReverseEndianness((uint)value.W3);
    }

    /// <summary>The value of 8 little-endian words (the inverse of <see cref="ToWords"/>).</summary>
    public static Key256 FromWords(ReadOnlySpan<uint> words) => new(
        ((ulong)BinaryPrimitives.ReverseEndianness(words[0]) << 32) | BinaryPrimitives.ReverseEndianness(words[1]),
        ((ulong)BinaryPrimitives.ReverseEndianness(words[2]) << 32) | BinaryPrimitives.ReverseEndianness(words[3]),
        ((ulong)BinaryPrimitives.ReverseEndianness(words[4]) << 32) | BinaryPrimitives.ReverseEndianness(words[5]),
        ((ulong)BinaryPrimitives.ReverseEndianness(words[6]) << 32) | BinaryPrimitives.ReverseEndianness(words[7]));

    /// <summary>
    /// Computes every job over a word array (value <c>i</c> at words <c>[8i, 8i + 8)</c>, see <see cref="ToWords"/>):
    /// the value at <c>job.Output</c> becomes the inner node hash of those at <c>job.Left</c> and <c>job.Right</c>.
    /// The jobs must be independent: no job may read an output of another job of the same call.
    /// </summary>
    public static void HashAll(Span<uint> values, ReadOnlySpan<NodeJob> jobs)
    {
        int done = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            done += HashWith<Lanes16>(values, jobs[done..]);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            done += HashWith<Lanes8>(values, jobs[done..]);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            done += HashWith<Lanes4>(values, jobs[done..]);
            if (jobs.Length - done > 1)
            {
                // Two or three left: one padded 4-lane group costs about as much as one scalar hash.
                HashGroup<Lanes4>(values, jobs[done..]);
                return;
            }
        }

        HashWith<Lanes1>(values, jobs[done..]);
    }

    /// <summary>Computes the jobs in full groups of <typeparamref name="T"/>'s lanes; returns how many it computed. For tests: any lane count.</summary>
    internal static int HashWith<T>(Span<uint> values, ReadOnlySpan<NodeJob> jobs)
        where T : unmanaged, ILanes<T>
    {
        int done = 0;
        for (; jobs.Length - done >= T.Count; done += T.Count)
        {
            HashGroup<T>(values, jobs.Slice(done, T.Count));
        }

        return done;
    }

    /// <summary>Computes up to <typeparamref name="T"/>'s lane count of independent jobs (the spare lanes repeat the last job and are not written).</summary>
    [SkipLocalsInit]
    internal static void HashGroup<T>(Span<uint> values, ReadOnlySpan<NodeJob> jobs)
        where T : unmanaged, ILanes<T>
    {
        int lanes = T.Count;
        Span<uint> words = stackalloc uint[16 * MaxLanes];

        // Transposed: word w of lane l at words[w * lanes + l]; with AVX2, eight lanes at a time by 8x8 transposes.
        if (Avx2.IsSupported && lanes % 8 == 0)
        {
            for (int from = 0; from < lanes; from += 8)
            {
                ReadOnlySpan<NodeJob> group = jobs[Math.Min(from, jobs.Length - 1)..];
                Transpose8(values, group, right: false, words[from..], lanes);
                Transpose8(values, group, right: true, words[((ValueWords * lanes) + from)..], lanes);
            }
        }
        else
        {
            for (int lane = 0; lane < lanes; lane++)
            {
                NodeJob job = jobs[Math.Min(lane, jobs.Length - 1)];
                ReadOnlySpan<uint> left = values.Slice(job.Left * ValueWords, ValueWords);
                ReadOnlySpan<uint> right = values.Slice(job.Right * ValueWords, ValueWords);
                for (int w = 0; w < ValueWords; w++)
                {
                    words[(w * lanes) + lane] = left[w];
                    words[((ValueWords + w) * lanes) + lane] = right[w];
                }
            }
        }

        Compress<T>(ContextKey, BlockLength, Flags, words);

        int count = Math.Min(jobs.Length, lanes);
        int lane0 = 0;
        if (Avx2.IsSupported && lanes % 8 == 0)
        {
            for (; lane0 + 8 <= count; lane0 += 8)
            {
                Untranspose8(words[lane0..], lanes, values, jobs.Slice(lane0, 8));
            }
        }

        for (int lane = lane0; lane < count; lane++)
        {
            Span<uint> output = values.Slice(jobs[lane].Output * ValueWords, ValueWords);
            for (int w = 0; w < ValueWords; w++)
            {
                output[w] = words[(w * lanes) + lane];
            }
        }
    }

    /// <summary>
    /// Reads the 8-word values (the right inputs when <paramref name="right"/>, else the left) of the first 8 jobs of <paramref name="jobs"/> (the last
    /// one repeated when fewer) and writes them transposed: word w of job j at <c>destination[w * stride + j]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ReadOnlySpan<uint> values, ReadOnlySpan<NodeJob> jobs, bool right, Span<uint> destination, int stride)
    {
        ref uint source = ref MemoryMarshal.GetReference(values);
        Vector256<uint> r0 = Row(ref source, values.Length, jobs[0], right);
        Vector256<uint> r1 = Row(ref source, values.Length, jobs[Math.Min(1, jobs.Length - 1)], right);
        Vector256<uint> r2 = Row(ref source, values.Length, jobs[Math.Min(2, jobs.Length - 1)], right);
        Vector256<uint> r3 = Row(ref source, values.Length, jobs[Math.Min(3, jobs.Length - 1)], right);
        Vector256<uint> r4 = Row(ref source, values.Length, jobs[Math.Min(4, jobs.Length - 1)], right);
        Vector256<uint> r5 = Row(ref source, values.Length, jobs[Math.Min(5, jobs.Length - 1)], right);
        Vector256<uint> r6 = Row(ref source, values.Length, jobs[Math.Min(6, jobs.Length - 1)], right);
        Vector256<uint> r7 = Row(ref source, values.Length, jobs[Math.Min(7, jobs.Length - 1)], right);
        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        ref uint target = ref MemoryMarshal.GetReference(destination);
        Debug.Assert(destination.Length >= (7 * stride) + 8, "Room for the transposed words.");
        r0.StoreUnsafe(ref target);
        r1.StoreUnsafe(ref Unsafe.Add(ref target, stride));
        r2.StoreUnsafe(ref Unsafe.Add(ref target, 2 * stride));
        r3.StoreUnsafe(ref Unsafe.Add(ref target, 3 * stride));
        r4.StoreUnsafe(ref Unsafe.Add(ref target, 4 * stride));
        r5.StoreUnsafe(ref Unsafe.Add(ref target, 5 * stride));
        r6.StoreUnsafe(ref Unsafe.Add(ref target, 6 * stride));
        r7.StoreUnsafe(ref Unsafe.Add(ref target, 7 * stride));
    }

    /// <summary>The inverse of <see cref="Transpose8"/> for outputs: 8 lanes of 8 output words into the values the 8 jobs name.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Untranspose8(ReadOnlySpan<uint> words, int stride, Span<uint> values, ReadOnlySpan<NodeJob> jobs)
    {
        ref uint source = ref MemoryMarshal.GetReference(words);
        Vector256<uint> r0 = Vector256.LoadUnsafe(ref source);
        Vector256<uint> r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, stride));
        Vector256<uint> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 2 * stride));
        Vector256<uint> r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 3 * stride));
        Vector256<uint> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 4 * stride));
        Vector256<uint> r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 5 * stride));
        Vector256<uint> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 6 * stride));
        Vector256<uint> r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref source, 7 * stride));
        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        r0.CopyTo(values.Slice(jobs[0].Output * ValueWords, ValueWords));
        r1.CopyTo(values.Slice(jobs[1].Output * ValueWords, ValueWords));
        r2.CopyTo(values.Slice(jobs[2].Output * ValueWords, ValueWords));
        r3.CopyTo(values.Slice(jobs[3].Output * ValueWords, ValueWords));
        r4.CopyTo(values.Slice(jobs[4].Output * ValueWords, ValueWords));
        r5.CopyTo(values.Slice(jobs[5].Output * ValueWords, ValueWords));
        r6.CopyTo(values.Slice(jobs[6].Output * ValueWords, ValueWords));
        r7.CopyTo(values.Slice(jobs[7].Output * ValueWords, ValueWords));
    }

    /// <summary>The 8 words of <paramref name="job"/>'s right or left input (bounds checked against <paramref name="length"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Row(ref uint source, int length, NodeJob job, bool right)
    {
        int offset = (right ? job.Right : job.Left) * ValueWords;
        if ((uint)offset > (uint)(length - ValueWords))
        {
            throw new ArgumentOutOfRangeException(nameof(job));
        }

        return Vector256.LoadUnsafe(ref source, (nuint)offset);
    }

    /// <summary>Transposes the 8x8 matrix of 32-bit words whose rows are <paramref name="r0"/> to <paramref name="r7"/> (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(
        ref Vector256<uint> r0, ref Vector256<uint> r1, ref Vector256<uint> r2, ref Vector256<uint> r3,
        ref Vector256<uint> r4, ref Vector256<uint> r5, ref Vector256<uint> r6, ref Vector256<uint> r7)
    {
        // Pairs of 32-bit words, then pairs of 64-bit words, then the 128-bit halves.
        Vector256<uint> t0 = Avx2.UnpackLow(r0, r1), t1 = Avx2.UnpackHigh(r0, r1);
        Vector256<uint> t2 = Avx2.UnpackLow(r2, r3), t3 = Avx2.UnpackHigh(r2, r3);
        Vector256<uint> t4 = Avx2.UnpackLow(r4, r5), t5 = Avx2.UnpackHigh(r4, r5);
        Vector256<uint> t6 = Avx2.UnpackLow(r6, r7), t7 = Avx2.UnpackHigh(r6, r7);
        Vector256<uint> u0 = Avx2.UnpackLow(t0.AsUInt64(), t2.AsUInt64()).AsUInt32(), u1 = Avx2.UnpackHigh(t0.AsUInt64(), t2.AsUInt64()).AsUInt32();
        Vector256<uint> u2 = Avx2.UnpackLow(t1.AsUInt64(), t3.AsUInt64()).AsUInt32(), u3 = Avx2.UnpackHigh(t1.AsUInt64(), t3.AsUInt64()).AsUInt32();
        Vector256<uint> u4 = Avx2.UnpackLow(t4.AsUInt64(), t6.AsUInt64()).AsUInt32(), u5 = Avx2.UnpackHigh(t4.AsUInt64(), t6.AsUInt64()).AsUInt32();
        Vector256<uint> u6 = Avx2.UnpackLow(t5.AsUInt64(), t7.AsUInt64()).AsUInt32(), u7 = Avx2.UnpackHigh(t5.AsUInt64(), t7.AsUInt64()).AsUInt32();
        r0 = Avx2.Permute2x128(u0, u4, 0x20);
        r1 = Avx2.Permute2x128(u1, u5, 0x20);
        r2 = Avx2.Permute2x128(u2, u6, 0x20);
        r3 = Avx2.Permute2x128(u3, u7, 0x20);
        r4 = Avx2.Permute2x128(u0, u4, 0x31);
        r5 = Avx2.Permute2x128(u1, u5, 0x31);
        r6 = Avx2.Permute2x128(u2, u6, 0x31);
        r7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>
    /// The BLAKE3 compression of one block per lane (counter 0) from chaining value <paramref name="cv"/>: reads the
    /// transposed message words (word w of lane l at <c>words[w * lanes + l]</c>) and writes the 8 output words back
    /// over the first 8 message words in the same layout.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compress<T>(ReadOnlySpan<uint> cv, uint blockLength, uint flags, Span<uint> words)
        where T : unmanaged, ILanes<T>
    {
        int lanes = T.Count;
        ref uint first = ref MemoryMarshal.GetReference(words);
        T m0 = T.Load(ref Unsafe.Add(ref first, 0 * lanes));
        T m1 = T.Load(ref Unsafe.Add(ref first, 1 * lanes));
        T m2 = T.Load(ref Unsafe.Add(ref first, 2 * lanes));
        T m3 = T.Load(ref Unsafe.Add(ref first, 3 * lanes));
        T m4 = T.Load(ref Unsafe.Add(ref first, 4 * lanes));
        T m5 = T.Load(ref Unsafe.Add(ref first, 5 * lanes));
        T m6 = T.Load(ref Unsafe.Add(ref first, 6 * lanes));
        T m7 = T.Load(ref Unsafe.Add(ref first, 7 * lanes));
        T m8 = T.Load(ref Unsafe.Add(ref first, 8 * lanes));
        T m9 = T.Load(ref Unsafe.Add(ref first, 9 * lanes));
        T m10 = T.Load(ref Unsafe.Add(ref first, 10 * lanes));
        T m11 = T.Load(ref Unsafe.Add(ref first, 11 * lanes));
        T m12 = T.Load(ref Unsafe.Add(ref first, 12 * lanes));
        T m13 = T.Load(ref Unsafe.Add(ref first, 13 * lanes));
        T m14 = T.Load(ref Unsafe.Add(ref first, 14 * lanes));
        T m15 = T.Load(ref Unsafe.Add(ref first, 15 * lanes));

        T v0 = T.Broadcast(cv[0]), v1 = T.Broadcast(cv[1]), v2 = T.Broadcast(cv[2]), v3 = T.Broadcast(cv[3]);
        T v4 = T.Broadcast(cv[4]), v5 = T.Broadcast(cv[5]), v6 = T.Broadcast(cv[6]), v7 = T.Broadcast(cv[7]);
        T v8 = T.Broadcast(Iv[0]), v9 = T.Broadcast(Iv[1]), v10 = T.Broadcast(Iv[2]), v11 = T.Broadcast(Iv[3]);
        T v12 = T.Broadcast(0), v13 = T.Broadcast(0), v14 = T.Broadcast(blockLength), v15 = T.Broadcast(flags);

        // 7 rounds; between two, the message words are permuted (BLAKE3's MSG_PERMUTATION).
        for (int round = 0; ; round++)
        {
            G(ref v0, ref v4, ref v8, ref v12, m0, m1);
            G(ref v1, ref v5, ref v9, ref v13, m2, m3);
            G(ref v2, ref v6, ref v10, ref v14, m4, m5);
            G(ref v3, ref v7, ref v11, ref v15, m6, m7);
            G(ref v0, ref v5, ref v10, ref v15, m8, m9);
            G(ref v1, ref v6, ref v11, ref v12, m10, m11);
            G(ref v2, ref v7, ref v8, ref v13, m12, m13);
            G(ref v3, ref v4, ref v9, ref v14, m14, m15);
            if (round == 6)
            {
                break;
            }

            T t0 = m0, t1 = m1, t2 = m2, t3 = m3, t4 = m4, t5 = m5, t6 = m6, t7 = m7;
            T t8 = m8, t9 = m9, t10 = m10, t11 = m11, t12 = m12, t13 = m13, t14 = m14, t15 = m15;
            m0 = t2; m1 = t6; m2 = t3; m3 = t10;
            m4 = t7; m5 = t0; m6 = t4; m7 = t13;
            m8 = t1; m9 = t11; m10 = t12; m11 = t5;
            m12 = t9; m13 = t14; m14 = t15; m15 = t8;
        }

        T.Store(v0 ^ v8, ref Unsafe.Add(ref first, 0 * lanes));
        T.Store(v1 ^ v9, ref Unsafe.Add(ref first, 1 * lanes));
        T.Store(v2 ^ v10, ref Unsafe.Add(ref first, 2 * lanes));
        T.Store(v3 ^ v11, ref Unsafe.Add(ref first, 3 * lanes));
        T.Store(v4 ^ v12, ref Unsafe.Add(ref first, 4 * lanes));
        T.Store(v5 ^ v13, ref Unsafe.Add(ref first, 5 * lanes));
        T.Store(v6 ^ v14, ref Unsafe.Add(ref first, 6 * lanes));
        T.Store(v7 ^ v15, ref Unsafe.Add(ref first, 7 * lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G<T>(ref T a, ref T b, ref T c, ref T d, T x, T y)
        where T : unmanaged, ILanes<T>
    {
        a = a + b + x;
        d = T.RotateRight16(d ^ a);
        c += d;
        b = T.RotateRight12(b ^ c);
        a = a + b + y;
        d = T.RotateRight8(d ^ a);
        c += d;
        b = T.RotateRight7(b ^ c);
    }

    /// <summary>
    /// BLAKE3 derive-key of exactly one block (64 bytes) of key material under <paramref name="context"/>, computed by
    /// the same context-key and compression code as the inner node hashes, in every lane of <typeparamref name="T"/>;
    /// returns lane <paramref name="lane"/>'s 32 bytes. For tests: the official BLAKE3 derive_key vector of a 64-byte input
    /// checks this code path, which the inner node hash runs with <see cref="InnerContext"/>.
    /// </summary>
    internal static byte[] DeriveKeyOneBlock<T>(string context, ReadOnlySpan<byte> material, int lane)
        where T : unmanaged, ILanes<T>
    {
        if (material.Length != BlockLength)
        {
            throw new ArgumentException("The key material must be exactly one block (64 bytes).", nameof(material));
        }

        int lanes = T.Count;
        Span<uint> words = stackalloc uint[16 * MaxLanes];
        for (int w = 0; w < 16; w++)
        {
            uint word = BinaryPrimitives.ReadUInt32LittleEndian(material[(4 * w)..]);
            for (int l = 0; l < lanes; l++)
            {
                words[(w * lanes) + l] = word;
            }
        }

        Compress<T>(ComputeContextKey(context), BlockLength, Flags, words);
        byte[] output = new byte[4 * ValueWords];
        for (int w = 0; w < ValueWords; w++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(4 * w), words[(w * lanes) + lane]);
        }

        return output;
    }

    /// <summary>
    /// The derive-key context key of <paramref name="context"/>: BLAKE3 of its UTF-8 bytes (one block, at most 64 bytes)
    /// with the DERIVE_KEY_CONTEXT flag, as 8 little-endian words.
    /// </summary>
    private static uint[] ComputeContextKey(string context)
    {
        const uint DeriveKeyContext = 32;
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        int length = Encoding.UTF8.GetBytes(context, block);
        Span<uint> words = stackalloc uint[16];
        for (int i = 0; i < 16; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(4 * i)..]);
        }

        Compress<Lanes1>(Iv, (uint)length, ChunkStart | ChunkEnd | RootFlag | DeriveKeyContext, words);
        return words[..8].ToArray();
    }
}
