using System.Security.Cryptography;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// A write-only stream that passes everything on to another stream and takes the SHA-256 of
/// it on the way, so that a layer's digest is known the moment its last byte is written,
/// without reading it back.
/// </summary>
public sealed class DigestStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private string? _digest;

    /// <summary>Wraps the stream; it is left open when this one is disposed.</summary>
    public DigestStream(Stream inner) => _inner = inner;

    /// <summary>The number of bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// The digest of everything written, as <c>sha256:</c> and lower-case hex. Reading it
    /// ends the stream: nothing more may be written.
    /// </summary>
    public string Digest => _digest ??= OciDigest.Format(_hash.GetHashAndReset());

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => _digest is null;

    /// <inheritdoc />
    public override long Length => BytesWritten;

    /// <inheritdoc />
    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) =>
        Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        _inner.Write(buffer);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count,
        CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer,
        CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Append(ReadOnlySpan<byte> buffer)
    {
        if (_digest is not null)
        {
            throw new InvalidOperationException("The digest was taken; the stream has ended.");
        }

        _hash.AppendData(buffer);
        BytesWritten += buffer.Length;
    }
}

/// <summary>Content digests as OCI and Docker write them: <c>sha256:</c> and lower-case hex.</summary>
public static class OciDigest
{
    /// <summary>The prefix of every digest this library writes.</summary>
    public const string Prefix = "sha256:";

    /// <summary>The digest of some bytes.</summary>
    public static string Of(ReadOnlySpan<byte> content) => Format(SHA256.HashData(content));

    /// <summary>A hash as a digest.</summary>
    public static string Format(byte[] hash) =>
        Prefix + Convert.ToHexString(hash).ToLowerInvariant();

    /// <summary>The hex part of a digest, which names its blob in an image layout.</summary>
    public static string Hex(string digest) =>
        digest.StartsWith(Prefix, StringComparison.Ordinal)
            ? digest[Prefix.Length..]
            : throw new ArgumentException($"'{digest}' is not a sha256 digest.", nameof(digest));
}
