using System.Collections.Generic;
using System.Text;

namespace StemeDb.Sync.Hosting.Tests;

/// <summary>
/// Builds DNS messages field by field (RFC 1035 section 4.1, SRV data from RFC 2782), so tests write exactly the bytes
/// they mean, well-formed or not.
/// </summary>
internal sealed class DnsPacket
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    /// <summary>A response header: QR set, RD and RA set, the given RCODE and TC bit.</summary>
    public static DnsPacket Response(ushort id, ushort questions, ushort answers, int responseCode = 0, bool truncated = false) =>
        new DnsPacket().UInt16(id).UInt16((ushort)(0x8180 | (truncated ? 0x0200 : 0) | responseCode)).UInt16(questions).UInt16(answers).UInt16(0).UInt16(0);

    public DnsPacket UInt16(ushort value)
    {
        _bytes.Add((byte)(value >> 8));
        _bytes.Add((byte)value);
        return this;
    }

    public DnsPacket UInt32(uint value) => UInt16((ushort)(value >> 16)).UInt16((ushort)value);

    public DnsPacket Byte(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    /// <summary>Length-prefixed labels, without the terminating root label (add <see cref="Root"/> or <see cref="Pointer"/>).</summary>
    public DnsPacket Labels(string name)
    {
        foreach (string label in name.Split('.'))
        {
            _bytes.Add((byte)label.Length);
            _bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        return this;
    }

    public DnsPacket Root() => Byte(0);

    /// <summary>A full uncompressed name.</summary>
    public DnsPacket Name(string name) => Labels(name).Root();

    /// <summary>A compression pointer to <paramref name="offset"/>.</summary>
    public DnsPacket Pointer(int offset) => UInt16((ushort)(0xC000 | offset));

    /// <summary>The question: a name, type SRV, class IN.</summary>
    public DnsPacket SrvQuestion(string name) => Name(name).UInt16(33).UInt16(1);

    /// <summary>The fixed fields of a resource record after its owner name: type, class IN, TTL 30 and the data length.</summary>
    public DnsPacket RecordFields(ushort type, ushort dataLength) => UInt16(type).UInt16(1).UInt32(30).UInt16(dataLength);

    /// <summary>An SRV record of <paramref name="owner"/> (a pointer offset) with an uncompressed target.</summary>
    public DnsPacket Srv(int owner, ushort priority, ushort weight, ushort port, string target)
    {
        int targetLength = target.Length == 0 ? 1 : target.Length + 2;
        Pointer(owner).RecordFields(33, (ushort)(6 + targetLength)).UInt16(priority).UInt16(weight).UInt16(port);
        return target.Length == 0 ? Root() : Name(target);
    }

    public byte[] ToArray() => [.. _bytes];
}
