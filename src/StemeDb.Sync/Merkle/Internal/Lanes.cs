using System;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StemeDb.Sync.Merkle.Internal;

/// <summary>
/// The 32-bit word operations of the BLAKE3 compression over <see cref="Count"/> independent lanes, so that
/// <see cref="NodeHasher"/> is written once for a scalar and for 4, 8 and 16 lanes. Implementations are structs
/// wrapping one value; the kernel is specialized for each and its calls inline.
/// </summary>
/// <typeparam name="TSelf">The implementing struct.</typeparam>
internal interface ILanes<TSelf>
    where TSelf : unmanaged, ILanes<TSelf>
{
    /// <summary>The number of lanes.</summary>
    static abstract int Count { get; }

    static abstract TSelf Broadcast(uint value);

    /// <summary>Reads <see cref="Count"/> words, one per lane, from <paramref name="source"/> on (unchecked: the caller guarantees the room).</summary>
    static abstract TSelf Load(ref uint source);

    /// <summary>Writes <see cref="Count"/> words, one per lane, from <paramref name="destination"/> on (unchecked).</summary>
    static abstract void Store(TSelf value, ref uint destination);

    static abstract TSelf RotateRight16(TSelf value);

    static abstract TSelf RotateRight12(TSelf value);

    static abstract TSelf RotateRight8(TSelf value);

    static abstract TSelf RotateRight7(TSelf value);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator ^(TSelf left, TSelf right);
}

/// <summary>One lane: plain <see cref="uint"/> arithmetic, the fallback everywhere.</summary>
internal readonly struct Lanes1 : ILanes<Lanes1>
{
    private readonly uint _value;

    private Lanes1(uint value) => _value = value;

    public static int Count => 1;

    public static Lanes1 Broadcast(uint value) => new(value);

    public static Lanes1 Load(ref uint source) => new(source);

    public static void Store(Lanes1 value, ref uint destination) => destination = value._value;

    public static Lanes1 RotateRight16(Lanes1 value) => new(BitOperations.RotateRight(value._value, 16));

    public static Lanes1 RotateRight12(Lanes1 value) => new(BitOperations.RotateRight(value._value, 12));

    public static Lanes1 RotateRight8(Lanes1 value) => new(BitOperations.RotateRight(value._value, 8));

    public static Lanes1 RotateRight7(Lanes1 value) => new(BitOperations.RotateRight(value._value, 7));

    public static Lanes1 operator +(Lanes1 left, Lanes1 right) => new(left._value + right._value);

    public static Lanes1 operator ^(Lanes1 left, Lanes1 right) => new(left._value ^ right._value);
}

/// <summary>Four lanes in a <see cref="Vector128{T}"/>.</summary>
internal readonly struct Lanes4 : ILanes<Lanes4>
{
    private readonly Vector128<uint> _value;

    private Lanes4(Vector128<uint> value) => _value = value;

    public static int Count => Vector128<uint>.Count;

    public static Lanes4 Broadcast(uint value) => new(Vector128.Create(value));

    public static Lanes4 Load(ref uint source) => new(Vector128.LoadUnsafe(ref source));

    public static void Store(Lanes4 value, ref uint destination) => value._value.StoreUnsafe(ref destination);

    public static Lanes4 RotateRight16(Lanes4 value) => Rotate(value, 16);

    public static Lanes4 RotateRight12(Lanes4 value) => Rotate(value, 12);

    public static Lanes4 RotateRight8(Lanes4 value) => Rotate(value, 8);

    public static Lanes4 RotateRight7(Lanes4 value) => Rotate(value, 7);

    public static Lanes4 operator +(Lanes4 left, Lanes4 right) => new(left._value + right._value);

    public static Lanes4 operator ^(Lanes4 left, Lanes4 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Lanes4 Rotate(Lanes4 value, [ConstantExpected(Min = 1, Max = 31)] byte count) =>
        Avx512F.VL.IsSupported
            ? new(Avx512F.VL.RotateRight(value._value, count))
            : new(Vector128.ShiftRightLogical(value._value, count) | Vector128.ShiftLeft(value._value, 32 - count));
}

/// <summary>Eight lanes in a <see cref="Vector256{T}"/>.</summary>
internal readonly struct Lanes8 : ILanes<Lanes8>
{
    private readonly Vector256<uint> _value;

    private Lanes8(Vector256<uint> value) => _value = value;

    public static int Count => Vector256<uint>.Count;

    public static Lanes8 Broadcast(uint value) => new(Vector256.Create(value));

    public static Lanes8 Load(ref uint source) => new(Vector256.LoadUnsafe(ref source));

    public static void Store(Lanes8 value, ref uint destination) => value._value.StoreUnsafe(ref destination);

    public static Lanes8 RotateRight16(Lanes8 value) => Rotate(value, 16);

    public static Lanes8 RotateRight12(Lanes8 value) => Rotate(value, 12);

    public static Lanes8 RotateRight8(Lanes8 value) => Rotate(value, 8);

    public static Lanes8 RotateRight7(Lanes8 value) => Rotate(value, 7);

    public static Lanes8 operator +(Lanes8 left, Lanes8 right) => new(left._value + right._value);

    public static Lanes8 operator ^(Lanes8 left, Lanes8 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Lanes8 Rotate(Lanes8 value, [ConstantExpected(Min = 1, Max = 31)] byte count) =>
        Avx512F.VL.IsSupported
            ? new(Avx512F.VL.RotateRight(value._value, count))
            : new(Vector256.ShiftRightLogical(value._value, count) | Vector256.ShiftLeft(value._value, 32 - count));
}

/// <summary>Sixteen lanes in a <see cref="Vector512{T}"/>.</summary>
internal readonly struct Lanes16 : ILanes<Lanes16>
{
    private readonly Vector512<uint> _value;

    private Lanes16(Vector512<uint> value) => _value = value;

    public static int Count => Vector512<uint>.Count;

    public static Lanes16 Broadcast(uint value) => new(Vector512.Create(value));

    public static Lanes16 Load(ref uint source) => new(Vector512.LoadUnsafe(ref source));

    public static void Store(Lanes16 value, ref uint destination) => value._value.StoreUnsafe(ref destination);

    public static Lanes16 RotateRight16(Lanes16 value) => Rotate(value, 16);

    public static Lanes16 RotateRight12(Lanes16 value) => Rotate(value, 12);

    public static Lanes16 RotateRight8(Lanes16 value) => Rotate(value, 8);

    public static Lanes16 RotateRight7(Lanes16 value) => Rotate(value, 7);

    public static Lanes16 operator +(Lanes16 left, Lanes16 right) => new(left._value + right._value);

    public static Lanes16 operator ^(Lanes16 left, Lanes16 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Lanes16 Rotate(Lanes16 value, [ConstantExpected(Min = 1, Max = 31)] byte count) =>
        Avx512F.IsSupported
            ? new(Avx512F.RotateRight(value._value, count))
            : new(Vector512.ShiftRightLogical(value._value, count) | Vector512.ShiftLeft(value._value, 32 - count));
}
