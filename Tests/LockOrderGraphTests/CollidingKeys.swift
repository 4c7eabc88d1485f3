/// Edge keys that a hash table must tell apart, each once, in the order made: nodes from a small range, so
/// that keys share many bits, and keys that differ only in `from`.
func collidingKeys(count: Int = 5_000) -> [UInt64] {
    var random = SystemRandomNumberGenerator()
    var seen = Set<UInt64>()
    var keys: [UInt64] = []
    for number in 0..<count {
        let key = UInt64.random(in: 1...300, using: &random) << 32 | UInt64.random(in: 1...300, using: &random)
        let sameTail = UInt64(number + 1) << 32 | 7
        for key in [key, sameTail] where seen.insert(key).inserted { keys.append(key) }
    }
    return keys
}
