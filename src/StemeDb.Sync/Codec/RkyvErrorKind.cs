namespace StemeDb.Sync;

/// <summary>Why an archive was rejected. The classes are those of rkyv's own validator (bytecheck).</summary>
public enum RkyvErrorKind
{
    /// <summary>No error.</summary>
    None,

    /// <summary>
    /// An object lies outside the range it may occupy: out of the buffer, overlapping its referrer or an earlier
    /// object, or out of order (rkyv: "subtree pointer overran range").
    /// </summary>
    SubtreeRange,

    /// <summary>An object's offset in the buffer is not a multiple of its alignment.</summary>
    Unaligned,

    /// <summary>String bytes are not valid UTF-8.</summary>
    Utf8,

    /// <summary>An enum or <c>Option</c> tag names no variant.</summary>
    EnumTag,

    /// <summary>A <c>bool</c> byte is neither 0 nor 1.</summary>
    Bool,

    /// <summary>A <c>char</c> is not a Unicode scalar value (above U+10FFFF or a surrogate).</summary>
    Char,

    /// <summary>A string is marked out-of-line but its length would fit inline (8 bytes or fewer).</summary>
    StringRepr,
}
