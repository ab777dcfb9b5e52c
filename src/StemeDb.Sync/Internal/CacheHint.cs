using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace StemeDb.Sync.Internal;

/// <summary>
/// Prefetch hints: start loading memory that code is about to read, so that the miss overlaps work done until then.
/// A hint never faults and changes nothing; where the processor has no prefetch instruction it does nothing.
/// </summary>
internal static class CacheHint
{
    /// <summary>Hints the cache lines holding the <paramref name="bytes"/> bytes from <paramref name="location"/>.</summary>
    /// <remarks>
    /// The location may be inside a managed object: the address is taken without pinning, so were the collector to move
    /// the object meanwhile, the hint would only load a line nobody needs.
    /// </remarks>
    public static unsafe void Prefetch<T>(ref T location, int bytes = 1)
    {
        if (Sse.IsSupported)
        {
            byte* address = (byte*)Unsafe.AsPointer(ref location);
            for (int offset = 0; offset < bytes; offset += 64)
            {
                Sse.Prefetch0(address + offset);
            }
        }
    }
}
