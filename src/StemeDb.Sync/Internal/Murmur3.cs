using System.Runtime.CompilerServices;

namespace StemeDb.Sync.Internal;

/// <summary>MurmurHash3's 64-bit finalizer, the mixing step of the reconciliation tables' hashes.</summary>
internal static class Murmur3
{
    /// <summary>MurmurHash3's 64-bit finalizer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Fmix64(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdUL;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53UL;
        k ^= k >> 33;
        return k;
    }
}
