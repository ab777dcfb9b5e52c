using System;
using StemeDb.Sync.Codec.Internal;
using L = StemeDb.Sync.Codec.Internal.AssertionLayout;

namespace StemeDb.Sync.Codec.Internal;

/// <summary>Hand-written validation of an archived <c>Assertion</c>, check for check what rkyv's bytecheck does. Allocates nothing.</summary>
internal static class AssertionValidator
{
    public static bool TryValidate(ReadOnlySpan<byte> data, out int root, out RkyvError error)
    {
        var v = new ArchiveValidator(data);
        if (!v.PushRoot(L.Size, L.Alignment, out root, out long end, out long savedHi) || !CheckFields(ref v, data, root))
        {
            error = v.Error;
            return false;
        }

        v.Pop(end, savedHi);
        error = default;
        return true;
    }

    private static bool CheckFields(ref ArchiveValidator v, ReadOnlySpan<byte> data, int root)
    {
        if (!v.CheckString(root + L.Subject) || !v.CheckString(root + L.Predicate))
        {
            return false;
        }

        switch (data[root + L.Object])
        {
            case (byte)AssertionValueKind.Null:
            case (byte)AssertionValueKind.Int:
            case (byte)AssertionValueKind.Float:
            case (byte)AssertionValueKind.Ref:
                break;
            case (byte)AssertionValueKind.Bool:
                if (!v.CheckBool(root + L.ObjectBool))
                {
                    return false;
                }

                break;
            case (byte)AssertionValueKind.Text:
                if (!v.CheckString(root + L.ObjectPointer))
                {
                    return false;
                }

                break;
            case (byte)AssertionValueKind.Bytes:
                if (!v.PushVec(root + L.ObjectPointer, 1, 1, out _, out _, out long bytesEnd, out long bytesSavedHi))
                {
                    return false;
                }

                v.Pop(bytesEnd, bytesSavedHi);
                break;
            default:
                return v.Fail(RkyvErrorKind.EnumTag, root + L.Object);
        }

        if (data[root + L.Confidence] > 1)
        {
            return v.Fail(RkyvErrorKind.EnumTag, root + L.Confidence);
        }

        if (data[root + L.Supersedes] > 1)
        {
            return v.Fail(RkyvErrorKind.EnumTag, root + L.Supersedes);
        }

        if (!v.PushVec(root + L.Tags, 8, 4, out int start, out int count, out long end, out long savedHi))
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            if (!v.CheckString(start + (i * 8)))
            {
                return false;
            }
        }

        v.Pop(end, savedHi);
        return true;
    }
}
