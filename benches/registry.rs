//! Registry lookups: a cached hit on a shard's moka cache, and a miss (the file read with its
//! metadata and properties, which on a shard runs on glommio's blocking pool).
//! Run: `cargo bench --bench registry`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mint::registry::cache::ShardRegistry;
use mint::registry::{Registry, RegistryConfig};

fn registry() -> Arc<Registry> {
    let dir = std::env::temp_dir().join(format!("mint-bench-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = RegistryConfig {
        config_root: dir.join("config"),
        governance_root: dir.join("governance"),
        local_root: dir.join("local"),
        cachable_duration: Duration::from_secs(3600),
    };
    let reg = Registry::open(cfg).expect("registry");
    std::fs::create_dir_all(dir.join("config/custom")).expect("dir");
    std::fs::write(dir.join("config/custom/value.txt"), "a registry value").expect("write");
    std::fs::write(
        dir.join("config/custom/value.txt.properties"),
        "colour=green\n",
    )
    .expect("write");
    Arc::new(reg)
}

fn bench(c: &mut Criterion) {
    let reg = registry();
    let shard = ShardRegistry::new(reg.clone());
    // Fill the cache the way a shard does after a miss.
    let res = reg
        .read("conf:/custom/value.txt")
        .expect("read")
        .expect("exists");
    assert_eq!(res.text(), "a registry value");
    shard.insert_for_bench("conf:/custom/value.txt", res);
    c.bench_function("registry/cached_hit", |b| {
        b.iter(|| {
            let r = shard
                .cached(black_box("conf:/custom/value.txt"))
                .expect("hit");
            assert_eq!(r.content.len(), 16);
        })
    });
    c.bench_function("registry/miss_file_read", |b| {
        b.iter(|| {
            let r = reg
                .read(black_box("conf:/custom/value.txt"))
                .expect("read")
                .expect("exists");
            assert_eq!(r.property("colour"), Some("green"));
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
