namespace StemeDb.Sync.Codec.Internal;

/// <summary>Offsets of the archived <c>Assertion</c> (checked by the tests against the layout measured on the Rust type).</summary>
internal static class AssertionLayout
{
    public const int Size = 160;
    public const int Alignment = 8;

    public const int Subject = 0;
    public const int Predicate = 8;
    public const int Object = 16;
    public const int ObjectBool = Object + 1;
    public const int ObjectNumber = Object + 8;
    public const int ObjectPointer = Object + 4;
    public const int ObjectRef = Object + 1;
    public const int HlcTime = 56;
    public const int HlcCounter = 64;
    public const int HlcNodeId = 68;
    public const int Author = 88;
    public const int Confidence = 104;
    public const int ConfidenceValue = Confidence + 4;
    public const int Supersedes = 112;
    public const int SupersedesValue = Supersedes + 1;
    public const int Tags = 148;
}
