using System;
using System.ComponentModel;
using System.Globalization;

namespace StemeDb.Sync.Internal;

/// <summary>
/// Converts a <see cref="NodeId"/> to and from text (32 hex digits or a hyphenated UUID), so that configuration
/// binding and other <see cref="TypeConverter"/> users can read node ids.
/// </summary>
internal sealed class NodeIdConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override bool CanConvertTo(ITypeDescriptorContext? context, Type? destinationType) =>
        destinationType == typeof(string) || base.CanConvertTo(context, destinationType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? NodeId.Parse(text.AsSpan().Trim()) : base.ConvertFrom(context, culture, value);

    public override object? ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType) =>
        destinationType == typeof(string) && value is NodeId id ? id.ToString() : base.ConvertTo(context, culture, value, destinationType);
}
