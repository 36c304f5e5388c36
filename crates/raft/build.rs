//! Generates the gRPC code from `proto/` (the only source of gRPC types).
//! Uses the protoc bundled by protoc-bin-vendored unless PROTOC is set.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    config.bytes(["."]);
    let files = [proto_dir.join("raft.proto"), proto_dir.join("admin.proto")];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_with_config(config, &files, &[proto_dir])?;
    Ok(())
}
