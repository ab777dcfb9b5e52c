namespace StemeDb.Sync;

/// <summary>The variant of an assertion's object value; the numeric value is the rkyv tag of <c>Value</c>.</summary>
public enum AssertionValueKind : byte
{
    /// <summary><c>Value::Null</c>: no value.</summary>
    Null = 0,

    /// <summary><c>Value::Bool(bool)</c>.</summary>
    Bool = 1,

    /// <summary><c>Value::Int(i64)</c>.</summary>
    Int = 2,

    /// <summary><c>Value::Float(f64)</c>.</summary>
    Float = 3,

    /// <summary><c>Value::Text(String)</c>.</summary>
    Text = 4,

    /// <summary><c>Value::Bytes(Vec&lt;u8&gt;)</c>.</summary>
    Bytes = 5,

    /// <summary><c>Value::Ref([u8; 32])</c>: a reference to another assertion by hash.</summary>
    Ref = 6,
}
