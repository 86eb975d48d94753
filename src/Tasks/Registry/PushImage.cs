namespace DockerToVms.Tasks.Registry;

/// <summary>One layer of an image to push, kept in a file as it goes to the registry.</summary>
/// <param name="Path">The file holding the blob, byte for byte as it is pushed.</param>
/// <param name="Digest">The blob's digest, <c>sha256:</c> and hex; for an uncompressed
/// layer the same as <paramref name="DiffId"/>.</param>
/// <param name="DiffId">The digest of the uncompressed tar, as the configuration lists it.</param>
/// <param name="MediaType">The layer's media type, such as
/// <c>application/vnd.oci.image.layer.v1.tar</c>.</param>
/// <param name="Size">The blob's size in bytes.</param>
public sealed record PushLayer(string Path, string Digest, string DiffId, string MediaType,
    long Size);

/// <summary>
/// An image as it is pushed: its layers, bottom first, and its configuration's bytes. Any
/// source fills it: the layers this library writes itself, or an image saved from the
/// daemon (<see cref="DaemonImageSource"/>).
/// </summary>
/// <param name="Layers">The layers, bottom first; their diff_ids are the configuration's.</param>
/// <param name="ConfigJson">The configuration, exactly the bytes whose digest is the
/// image's id.</param>
public sealed record PushImage(IReadOnlyList<PushLayer> Layers, ReadOnlyMemory<byte> ConfigJson);
