namespace StemeDb.Sync.Codec.Internal;

/// <summary>Alignment arithmetic of the C layout (repr(C)) used by rkyv's derived archived types.</summary>
internal static class Layout
{
    public static int AlignUp(int value, int alignment) => (value + alignment - 1) & ~(alignment - 1);

    public static long AlignUp(long value, int alignment) => (value + alignment - 1) & ~(long)(alignment - 1);
}
