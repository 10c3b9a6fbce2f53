use actix_web::web::Bytes;
use futures_util::Stream;
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;

const CHUNK: usize = 64 * 1024;

/// Streams a finished temporary file in chunks; the file is removed when the stream ends.
pub async fn stream_file(
    file: NamedTempFile,
) -> std::io::Result<impl Stream<Item = Result<Bytes, std::io::Error>>> {
    let reader = tokio::fs::File::open(file.path()).await?;
    Ok(futures_util::stream::unfold(
        (reader, Some(file)),
        |(mut reader, guard)| async move {
            guard.as_ref()?;
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (reader, guard)))
                }
                Err(e) => Some((Err(e), (reader, None))),
            }
        },
    ))
}
