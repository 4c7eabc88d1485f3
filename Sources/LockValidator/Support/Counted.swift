/// `count` with its noun in the right number: "1 order", "2 orders", "3 lock classes" (given `plural`).
package func counted(_ count: Int, _ noun: String, _ plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? noun : plural ?? noun + "s")
}
