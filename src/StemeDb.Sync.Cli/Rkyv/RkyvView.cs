using System;
using System.Buffers.Binary;
using System.Text;
using StemeDb.Sync.Cli.Rkyv.Internal;
using StemeDb.Sync.Codec.Internal;

namespace StemeDb.Sync.Cli.Rkyv;

/// <summary>
/// A zero-copy view of a value inside a validated archive of any <see cref="RkyvType"/>: navigate with
/// <see cref="Field(string)"/>, <see cref="Element"/>, <see cref="Value"/>, and read leaves with the <c>Get…</c>
/// members, straight from the buffer. Nothing here allocates. Obtain the root view with <see cref="Access"/> or
/// <see cref="TryAccess"/>, which validate the whole archive first.
/// </summary>
/// <remarks>Asking a view for something its type does not have (a field of a <c>u32</c>, say) throws <see cref="InvalidOperationException"/>.</remarks>
internal readonly ref struct RkyvView
{
    private readonly ReadOnlySpan<byte> _buffer;

    private RkyvView(ReadOnlySpan<byte> buffer, RkyvType type, int position)
    {
        _buffer = buffer;
        Type = type;
        Position = position;
    }

    /// <summary>The type of the viewed value.</summary>
    public RkyvType Type { get; }

    /// <summary>The offset of the viewed value from the start of the archive.</summary>
    public int Position { get; }

    /// <summary>
    /// The number of elements of a <c>Vec</c> or array, or the UTF-8 length of a <c>String</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The type has no length.</exception>
    public int Count => Type.Kind switch
    {
        RkyvTypeKind.Vec => (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(Position + 4)..]),
        RkyvTypeKind.Array => Type.Length,
        RkyvTypeKind.String => StringRepr.Read(_buffer, Position).Length,
        _ => throw Wrong("a length"),
    };

    /// <summary>For an <c>Option</c>: whether it is <c>Some</c>.</summary>
    /// <exception cref="InvalidOperationException">The type is not an <c>Option</c>.</exception>
    public bool HasValue => Type.Kind == RkyvTypeKind.Option ? _buffer[Position] != 0 : throw Wrong("an Option tag");

    /// <summary>The payload of a <c>Some</c> or the target of a <c>Box</c>.</summary>
    /// <exception cref="InvalidOperationException">The type is neither, or the option is <c>None</c>.</exception>
    public RkyvView Value => Type.Kind switch
    {
        RkyvTypeKind.Option when _buffer[Position] != 0 => new RkyvView(_buffer, Type.Element!, Position + Type.PayloadOffset),
        RkyvTypeKind.Option => throw new InvalidOperationException("The option is None."),
        RkyvTypeKind.Box => new RkyvView(_buffer, Type.Element!, Position + BinaryPrimitives.ReadInt32LittleEndian(_buffer[Position..])),
        _ => throw Wrong("a payload"),
    };

    /// <summary>For an enum: the active variant.</summary>
    /// <exception cref="InvalidOperationException">The type is not an enum.</exception>
    public RkyvVariant Variant => Type.Kind == RkyvTypeKind.Enum ? Type.VariantArray[_buffer[Position]] : throw Wrong("variants");

    /// <summary>Validates <paramref name="archive"/> as an archive of <paramref name="type"/> and returns a view of its root.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted bytes.</param>
    /// <returns>The root view.</returns>
    /// <exception cref="RkyvFormatException">The bytes are not a valid archive.</exception>
    public static RkyvView Access(RkyvType type, ReadOnlySpan<byte> archive)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!SchemaValidator.TryValidate(type, archive, out int root, out RkyvError error))
        {
            throw new RkyvFormatException(error);
        }

        return new RkyvView(archive, type, root);
    }

    /// <summary>Validates <paramref name="archive"/> without throwing and returns a view of its root.</summary>
    /// <param name="type">The schema.</param>
    /// <param name="archive">The untrusted bytes.</param>
    /// <param name="view">The root view, when valid.</param>
    /// <param name="error">Why the bytes were rejected, when they were.</param>
    /// <returns><see langword="true"/> if the bytes are a valid archive.</returns>
    public static bool TryAccess(RkyvType type, ReadOnlySpan<byte> archive, out RkyvView view, out RkyvError error)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (SchemaValidator.TryValidate(type, archive, out int root, out error))
        {
            view = new RkyvView(archive, type, root);
            return true;
        }

        view = default;
        return false;
    }

    /// <summary>A field of a struct or tuple, or of the active variant of an enum, by name.</summary>
    /// <param name="name">The field name (<c>"0"</c>, <c>"1"</c>, … for positional fields).</param>
    /// <returns>The field's view.</returns>
    /// <exception cref="InvalidOperationException">There is no such field.</exception>
    public RkyvView Field(string name)
    {
        foreach (RkyvField f in Fields())
        {
            if (string.Equals(f.Name, name, StringComparison.Ordinal))
            {
                return new RkyvView(_buffer, f.Type, Position + f.Offset);
            }
        }

        throw new InvalidOperationException($"{Type.Name} has no field '{name}' here.");
    }

    /// <summary>A field of a struct or tuple, or of the active variant of an enum, by index.</summary>
    /// <param name="index">The zero-based field index.</param>
    /// <returns>The field's view.</returns>
    /// <exception cref="InvalidOperationException">There is no such field.</exception>
    public RkyvView Field(int index)
    {
        RkyvField[] fields = Fields();
        if ((uint)index >= (uint)fields.Length)
        {
            throw new InvalidOperationException($"{Type.Name} has {fields.Length} fields here, not {index + 1}.");
        }

        return new RkyvView(_buffer, fields[index].Type, Position + fields[index].Offset);
    }

    /// <summary>An element of a <c>Vec</c> or array.</summary>
    /// <param name="index">The zero-based index.</param>
    /// <returns>The element's view.</returns>
    /// <exception cref="InvalidOperationException">The type is neither a vec nor an array.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Count)</c>.</exception>
    public RkyvView Element(int index)
    {
        int start = Type.Kind switch
        {
            RkyvTypeKind.Vec => Position + BinaryPrimitives.ReadInt32LittleEndian(_buffer[Position..]),
            RkyvTypeKind.Array => Position,
            _ => throw Wrong("elements"),
        };
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return new RkyvView(_buffer, Type.Element!, start + (index * Type.Element!.Size));
    }

    /// <summary>Reads a <c>u8</c>.</summary>
    /// <returns>The value.</returns>
    public byte GetByte() => _buffer[Expect(RkyvTypeKind.U8)];

    /// <summary>Reads an <c>i8</c>.</summary>
    /// <returns>The value.</returns>
    public sbyte GetSByte() => unchecked((sbyte)_buffer[Expect(RkyvTypeKind.I8)]);

    /// <summary>Reads a <c>u16</c>.</summary>
    /// <returns>The value.</returns>
    public ushort GetUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(_buffer[Expect(RkyvTypeKind.U16)..]);

    /// <summary>Reads an <c>i16</c>.</summary>
    /// <returns>The value.</returns>
    public short GetInt16() => BinaryPrimitives.ReadInt16LittleEndian(_buffer[Expect(RkyvTypeKind.I16)..]);

    /// <summary>Reads a <c>u32</c>.</summary>
    /// <returns>The value.</returns>
    public uint GetUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(_buffer[Expect(RkyvTypeKind.U32)..]);

    /// <summary>Reads an <c>i32</c>.</summary>
    /// <returns>The value.</returns>
    public int GetInt32() => BinaryPrimitives.ReadInt32LittleEndian(_buffer[Expect(RkyvTypeKind.I32)..]);

    /// <summary>Reads a <c>u64</c>.</summary>
    /// <returns>The value.</returns>
    public ulong GetUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(_buffer[Expect(RkyvTypeKind.U64)..]);

    /// <summary>Reads an <c>i64</c>.</summary>
    /// <returns>The value.</returns>
    public long GetInt64() => BinaryPrimitives.ReadInt64LittleEndian(_buffer[Expect(RkyvTypeKind.I64)..]);

    /// <summary>Reads an <c>f32</c>.</summary>
    /// <returns>The value.</returns>
    public float GetSingle() => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(_buffer[Expect(RkyvTypeKind.F32)..]));

    /// <summary>Reads an <c>f64</c>.</summary>
    /// <returns>The value.</returns>
    public double GetDouble() => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(_buffer[Expect(RkyvTypeKind.F64)..]));

    /// <summary>Reads a <c>bool</c>.</summary>
    /// <returns>The value.</returns>
    public bool GetBoolean() => _buffer[Expect(RkyvTypeKind.Bool)] != 0;

    /// <summary>Reads a <c>char</c>.</summary>
    /// <returns>The value.</returns>
    public Rune GetChar() => new((int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer[Expect(RkyvTypeKind.Char)..]));

    /// <summary>Returns the UTF-8 bytes of a <c>String</c>, straight from the buffer.</summary>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> GetUtf8() => StringRepr.Read(_buffer, Expect(RkyvTypeKind.String));

    /// <summary>Decodes a <c>String</c> into a new <see cref="string"/> (this one allocates).</summary>
    /// <returns>The text.</returns>
    public string GetString() => Encoding.UTF8.GetString(GetUtf8());

    /// <summary>Returns the bytes of a <c>Vec&lt;u8&gt;</c> or <c>[u8; N]</c>, straight from the buffer.</summary>
    /// <returns>The bytes.</returns>
    /// <exception cref="InvalidOperationException">The type is not a byte vec or byte array.</exception>
    public ReadOnlySpan<byte> GetBytes()
    {
        if (Type.Element is not { IsByte: true })
        {
            throw Wrong("bytes");
        }

        return Type.Kind == RkyvTypeKind.Array
            ? _buffer.Slice(Position, Type.Length)
            : _buffer.Slice(Position + BinaryPrimitives.ReadInt32LittleEndian(_buffer[Position..]), Count);
    }

    /// <summary>Decodes the viewed value into the dynamic value model of <see cref="RkyvSerializer"/> (this one allocates).</summary>
    /// <returns>The value.</returns>
    public object? ToValue() => SchemaReader.Read(Type, _buffer, Position);

    private RkyvField[] Fields() => Type.Kind switch
    {
        RkyvTypeKind.Struct or RkyvTypeKind.Tuple => Type.FieldArray,
        RkyvTypeKind.Enum => Type.VariantArray[_buffer[Position]].FieldArray,
        _ => throw Wrong("fields"),
    };

    private int Expect(RkyvTypeKind kind) => Type.Kind == kind ? Position : throw Wrong("a " + kind + " value");

    private InvalidOperationException Wrong(string what) => new($"{Type.Name} has no {what}.");
}
